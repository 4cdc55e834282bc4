// TLP headers the kernel logs with AER and GHES errors (drivers/pci/pcie/aer.c "  TLP Header: %08x %08x
// %08x %08x", GHES "{N}[Hardware Error]:   TLP Header: …", and ≤ 4.x without the "AER: " tag), decoded
// as TlpRecords. Pure. Decoding follows the PCIe Base Specification's TLP header: DW0 Fmt[31:29],
// Type[28:24], AT[11:10], Length[9:0] (0 = 1024 DW); requests: DW1 Requester ID[31:16], Tag[15:8],
// byte enables[7:0], address DW2 (3-DW header) or DW2:DW3 (4-DW); completions: DW1 Completer ID, DW2
// Requester ID. Fmt 100b is a TLP prefix (recorded, not decoded). The requester's PCI segment is taken
// from the reporting port's name.
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
  let tlpType = `Fmt${fmt}Type${type.toString(16)}`;
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
