// TLP headers the kernel logs with AER and GHES errors (drivers/pci/pcie/aer.c "  TLP Header: %08x %08x
// %08x %08x", GHES "{N}[Hardware Error]:   TLP Header: …", and ≤ 4.x without the "AER: " tag), decoded
// as TlpRecords. Pure. Decoding follows the PCIe Base Specification's TLP header: DW0 Fmt[31:29],
// Type[28:24], AT[11:10], Length[9:0] (0 = 1024 DW); requests: DW1 Requester ID[31:16], Tag[15:8],
// byte enables[7:0], address DW2 (3-DW header) or DW2:DW3 (4-DW); completions: DW1 Completer ID, DW2
// Requester ID. Fmt 100b is a TLP prefix (recorded, not decoded). The requester's PCI segment is taken
// from the reporting port's name.
// decodeTlp() decodes a whole TLP's DWs as a link carries them (the Keysight .pad framer uses it, so
// there is one TLP decoder): TLP prefixes first (Fmt 100b; byte 0 bit 4: End-End, else Local; type in
// bits 3:0 — End-End 0000b ExtTPH, 0001b PASID (byte 0 91h: PASID[19:0], Execute Requested bit 20,
// Privileged Mode Requested bit 21), 0010b IDE (byte 0 92h: M bit 23, K bit 22, T bit 21, P bit 20,
// Sub-Stream 19:16, Stream ID 15:8, PR_Sent_Counter 7:0, after the IDE TLP Prefix figure of PCIe 6.x
// §6.33.4; not checked against a capture), 1110b/1111b vendor; Local 0000b MR-IOV, 1110b/1111b
// vendor), then the header (TC, T9/T8 10-bit tag bits, TD, EP, Attr, byte enables, message code,
// completion status) and the payload and ECRC sizes.
import { partial, rec, type Outcome } from './items';
import type { TlpRecord } from './types';
import { bdfOfRid, pciName } from './values';

const RE =
  /^(?:([\w.-]{1,64}) ([\w.:/@-]{1,96}): |\{\d{1,6}\}\[Hardware Error\]: )(?:AER: )?[ \t]{0,8}TLP Header: ([0-9a-fA-F]{8}) ([0-9a-fA-F]{8}) ([0-9a-fA-F]{8}) ([0-9a-fA-F]{8})$/;
const ANCHOR = /(?:^|: )(?:AER: )?[ \t]{0,8}TLP Header:/;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Decodes four header DWs. */
export function decodeTlpHeader(
  dw: [number, number, number, number],
  segment: number | null,
): Omit<TlpRecord, 'line' | 'raw' | 'time' | 'clock' | 'timeRaw' | 'origin'> {
  const [d0, d1, d2, d3] = dw;
  const fmt = (d0 >>> 29) & 7;
  const type = (d0 >>> 24) & 0x1f;
  const lenDw = d0 & 0x3ff || 1024;
  const at = (d0 >>> 10) & 3;
  const data = (fmt & 2) !== 0;
  const fourDw = (fmt & 1) !== 0;
  const detail = {
    fmt,
    type,
    tag: (d1 >>> 8) & 0xff,
    dw: dw.map((d) => d.toString(16).padStart(8, '0')).join(' '),
  };
  const base = { type: 'tlp' as const, pasid: null, tbit: null, detail };
  if (fmt === 4) {
    return {
      ...base,
      requesterId: null,
      bdf: null,
      at: null,
      access: 'other',
      tlpType: 'Prefix',
      address: null,
      length: null,
    };
  }
  if (type === 0x0a || type === 0x0b) {
    const rid = d2 >>> 16;
    return {
      ...base,
      requesterId: rid,
      bdf: bdfOfRid(segment, rid),
      at: null,
      access: 'completion',
      tlpType: `${type === 0x0b ? 'CplLk' : 'Cpl'}${data ? 'D' : ''}`,
      address: null,
      length: data ? lenDw * 4 : null,
    };
  }
  const rid = d1 >>> 16;
  const address = fourDw
    ? `0x${((BigInt(d2 >>> 0) << 32n) | BigInt((d3 & ~3) >>> 0)).toString(16)}`
    : hex((d2 & ~3) >>> 0);
  let access: TlpRecord['access'] = 'other';
  let tlpType = OTHER_TYPES[type]?.[data ? 1 : 0] ?? `Fmt${fmt}Type${type.toString(16)}`;
  if (type === 0 || type === 1) {
    access = data ? 'write' : 'read';
    tlpType = data ? 'MWr' : type === 1 ? 'MRdLk' : 'MRd';
  } else if (type >= 0x0c && type <= 0x0e && data) {
    access = 'atomic';
    tlpType = ['FetchAdd', 'Swap', 'CAS'][type - 0x0c]!;
  } else if ((type & 0x18) === 0x10) {
    access = 'message';
    tlpType = data ? 'MsgD' : 'Msg';
  }
  const isMem = access === 'read' || access === 'write' || access === 'atomic';
  return {
    ...base,
    requesterId: rid,
    bdf: bdfOfRid(segment, rid),
    at: isMem ? at : null,
    access,
    tlpType,
    address: isMem ? address : null,
    length: isMem ? lenDw * 4 : null,
  };
}

const OTHER_TYPES: Record<number, [string, string]> = {
  0x02: ['IORd', 'IOWr'],
  0x04: ['CfgRd0', 'CfgWr0'],
  0x05: ['CfgRd1', 'CfgWr1'],
  0x1b: ['TCfgRd', 'TCfgWr'],
};

/** Message codes (PCIe Base Specification §2.2.8, Table 2-*: message code summary). */
const MESSAGE_CODES: Record<number, string> = {
  0x00: 'Unlock',
  0x01: 'Invalidate Request',
  0x02: 'Invalidate Completion',
  0x04: 'Page Request',
  0x05: 'PRG Response',
  0x10: 'LTR',
  0x12: 'OBFF',
  0x14: 'PM_Active_State_Nak',
  0x18: 'PM_PME',
  0x19: 'PME_Turn_Off',
  0x1b: 'PME_TO_Ack',
  0x20: 'Assert_INTA',
  0x21: 'Assert_INTB',
  0x22: 'Assert_INTC',
  0x23: 'Assert_INTD',
  0x24: 'Deassert_INTA',
  0x25: 'Deassert_INTB',
  0x26: 'Deassert_INTC',
  0x27: 'Deassert_INTD',
  0x30: 'ERR_COR',
  0x31: 'ERR_NONFATAL',
  0x33: 'ERR_FATAL',
  0x40: 'Attention_Indicator_Off',
  0x41: 'Attention_Indicator_On',
  0x43: 'Attention_Indicator_Blink',
  0x44: 'Power_Indicator_Off',
  0x45: 'Power_Indicator_On',
  0x47: 'Power_Indicator_Blink',
  0x48: 'Attention_Button_Pressed',
  0x50: 'Set_Slot_Power_Limit',
  0x52: 'PTM Request',
  0x53: 'PTM Response',
  0x7e: 'Vendor_Defined Type 0',
  0x7f: 'Vendor_Defined Type 1',
};

const CPL_STATUS: Record<number, string> = { 0: 'SC', 1: 'UR', 2: 'CRS', 4: 'CA' };

const MESSAGE_ROUTING = ['to RC', 'by address', 'by ID', 'broadcast from RC', 'local', 'gathered to RC'];

export interface TlpPrefix {
  scope: 'end-end' | 'local';
  /** bits 3:0 of byte 0 */
  type: number;
  name: string;
  dw: number;
}

/** A whole TLP decoded: the TlpRecord fields decodeTlpHeader gives, with the prefixes applied. */
export type DecodedTlp = ReturnType<typeof decodeTlpHeader> & {
  prefixes: TlpPrefix[];
  /** PASID prefix bits (false without one) */
  exec: boolean;
  priv: boolean;
  /** header DWs (3 or 4; 0 when the DWs end inside the prefixes) and payload DWs (0 without data) */
  headerDws: number;
  payloadDws: number;
  /** TD: an ECRC DW follows the payload */
  ecrc: boolean;
  /** what cannot be decoded (DWs missing), or null */
  problem: string | null;
};

const E2E_NAMES: Record<number, string> = {
  0: 'ExtTPH',
  1: 'PASID',
  2: 'IDE',
  14: 'VendPrefixE0',
  15: 'VendPrefixE1',
};
const LOCAL_NAMES: Record<number, string> = { 0: 'MR-IOV', 14: 'VendPrefixL0', 15: 'VendPrefixL1' };

/**
 * Decodes a TLP from its DWs (big-endian u32s as on the link: prefixes, header, payload, ECRC), e.g. the
 * bytes between a framer's sequence number and LCRC. Never throws; missing DWs give a `problem`.
 */
export function decodeTlp(dws: readonly number[], segment: number | null): DecodedTlp {
  const prefixes: TlpPrefix[] = [];
  let i = 0;
  while (i < dws.length && dws[i]! >>> 29 === 4) {
    const d = dws[i]! >>> 0;
    const scope = d & (1 << 28) ? 'end-end' : 'local';
    const type = (d >>> 24) & 0xf;
    const name = (scope === 'end-end' ? E2E_NAMES : LOCAL_NAMES)[type] ?? `reserved ${scope} prefix ${type}`;
    prefixes.push({ scope, type, name, dw: d });
    i++;
  }
  const rest = dws.slice(i, i + 4);
  const missing = rest.length === 0;
  while (rest.length < 4) rest.push(0);
  const h = decodeTlpHeader(rest as [number, number, number, number], segment);
  const d0 = rest[0]! >>> 0;
  const d1 = rest[1]! >>> 0;
  const fmt = (d0 >>> 29) & 7;
  const type = (d0 >>> 24) & 0x1f;
  const headerDws = missing ? 0 : fmt & 1 ? 4 : 3;
  const lenDw = fmt & 2 ? d0 & 0x3ff || 1024 : d0 & 0x3ff;
  const payloadDws = !missing && fmt & 2 ? lenDw : 0;
  const ecrc = (d0 & (1 << 15)) !== 0;
  let pasid: number | null = null;
  let exec = false;
  let priv = false;
  let tbit: boolean | null = null;
  const detail: Record<string, string | number | boolean | null> = {
    ...h.detail,
    // 10-bit tags: T9 (DW0 bit 23) and T8 (bit 19) above Tag[7:0]
    tag: (((d0 >>> 23) & 1) << 9) | (((d0 >>> 19) & 1) << 8) | ((d1 >>> 8) & 0xff),
    tc: (d0 >>> 20) & 7,
    td: ecrc,
    ep: (d0 & (1 << 14)) !== 0,
    attr: (((d0 >>> 18) & 1) << 2) | ((d0 >>> 12) & 3),
    lengthDw: lenDw,
  };
  if (prefixes.length) {
    detail.dw = [...prefixes.map((p) => p.dw), ...dws.slice(i, i + headerDws)]
      .map((d) => (d >>> 0).toString(16).padStart(8, '0'))
      .join(' ');
    detail.prefixes = prefixes.map((p) => p.name).join(' ');
  }
  for (const p of prefixes) {
    if (p.scope !== 'end-end') continue;
    if (p.type === 1) {
      pasid = p.dw & 0xfffff;
      exec = (p.dw & (1 << 20)) !== 0;
      priv = (p.dw & (1 << 21)) !== 0;
    } else if (p.type === 2) {
      tbit = (p.dw & (1 << 21)) !== 0;
      detail.ideStream = (p.dw >>> 8) & 0xff;
      detail.ideSubStream = (p.dw >>> 16) & 0xf;
    }
  }
  if (h.access === 'message') {
    const code = d1 & 0xff;
    detail.messageCode = code;
    detail.message = MESSAGE_CODES[code] ?? `code 0x${code.toString(16).padStart(2, '0')}`;
    detail.routing = MESSAGE_ROUTING[type & 7] ?? `reserved routing ${type & 7}`;
  } else if (h.access === 'completion') {
    detail.completerId = d1 >>> 16;
    const status = (d1 >>> 13) & 7;
    detail.status = CPL_STATUS[status] ?? `status ${status}`;
    detail.byteCount = d1 & 0xfff;
  } else if (fmt !== 4) {
    detail.firstBe = d1 & 0xf;
    detail.lastBe = (d1 >>> 4) & 0xf;
  }
  const problem = missing
    ? prefixes.length
      ? 'TLP prefixes without a header'
      : 'no header'
    : dws.length - i < headerDws
      ? `header cut short (${dws.length - i} of ${headerDws} DWs)`
      : null;
  const none = missing
    ? {
        access: 'other' as const,
        tlpType: prefixes.length ? 'Prefix' : 'none',
        at: null,
        address: null,
        length: null,
      }
    : {};
  return {
    ...h,
    ...none,
    pasid,
    tbit,
    detail,
    prefixes,
    exec,
    priv,
    headerDws,
    payloadDws,
    ecrc,
    problem,
  };
}

export function recogniseAerTlp(body: string): Outcome {
  const m = RE.exec(body);
  if (!m)
    return ANCHOR.test(body) && /TLP Header: ?[0-9a-fA-F ]{0,34}$/.test(body)
      ? partial('TLP Header line cut short')
      : null;
  const port = m[2] !== undefined ? pciName(m[2]) : null;
  const dw = [m[3]!, m[4]!, m[5]!, m[6]!].map((x) => parseInt(x, 16)) as [number, number, number, number];
  const d = decodeTlpHeader(dw, port ? (port.segment ?? 0) : null);
  return rec({ ...d, origin: 'aer', detail: { ...d.detail, reporter: m[2] ?? null } });
}
