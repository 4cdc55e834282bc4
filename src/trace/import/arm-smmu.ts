// ARM SMMU fault lines: SMMUv3 (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c) and SMMUv1/v2
// (drivers/iommu/arm/arm-smmu/arm-smmu.c), and Xen's ports of both. Pure recogniser. Contract:
// - SMMUv3 event: "arm-smmu-v3 <dev>: event 0x10 received:" then four "\t0x%016llx" raw words (the tab
//   often pasted as spaces), then on ≥ 6.14 two decoded lines ("event: F_TRANSLATION client: … sid: 0x…
//   ssid: 0x… iova: 0x… ipa: 0x…" and "unpriv data write s1 "Input address caused fault" stag: 0x0").
//   Lines of one event may be interleaved with other drivers' lines; assemble.ts collects them per SMMU
//   and decodes the words with smmuv3Fault() (EVTQ_* fields of arm-smmu-v3.h: id w0[7:0], SSV w0[11],
//   SSID w0[31:12], SID w0[63:32], STAG w1[15:0], STALL w1[31], PnU w1[33], InD w1[34], RnW w1[35],
//   S2 w1[39], CLASS w1[41:40], TT_READ w1[44], address w2, IPA w3[51:12], fetch address w3[51:3]).
//   reason = the event id; reasonText = event_str[] name (+ the class text for 0x10–0x13).
// - SMMUv2 "Unhandled context fault: fsr=0x…, iova=0x…, fsynr=0x…, cbfrsynra=0x…, cb=N" (cbfrsynra is the
//   StreamID; absent in older kernels and Xen): reason = FSR; access from FSYNR0 (WNR bit 4, IND bit 6).
//   "Blocked unknown Stream ID 0x…" is a fault with reason 0x2 (GFSR.USF). GFSR and the ≥ 6.12 "FSR =" /
//   "FSYNR0 =" decode lines are info records.
// - The StreamID is in `sid`; bdf is set only when the kernel names a PCI client.
import { complete, partial, rec, type FaultDraft, type Item, type Outcome } from './items';
import type { Access } from './types';
import { bigHex, hexAddr, hexBig, hexNum, pciName } from './values';

export const SMMUV3_EVENTS: Record<number, string> = {
  0x02: 'C_BAD_STREAMID',
  0x03: 'F_STE_FETCH',
  0x04: 'C_BAD_STE',
  0x06: 'F_STREAM_DISABLED',
  0x08: 'C_BAD_SUBSTREAMID',
  0x09: 'F_CD_FETCH',
  0x0a: 'C_BAD_CD',
  0x10: 'F_TRANSLATION',
  0x11: 'F_ADDR_SIZE',
  0x12: 'F_ACCESS',
  0x13: 'F_PERMISSION',
  0x25: 'F_VMS_FETCH',
};
const CLASS = ['CD fetch', 'Stage 1 translation table fetch', 'Input address caused fault', 'Reserved'];
const FSR_BITS: Array<[number, string]> = [
  [1 << 1, 'Translation fault'],
  [1 << 2, 'Access flag fault'],
  [1 << 3, 'Permission fault'],
  [1 << 4, 'External fault'],
  [1 << 5, 'TLB match conflict fault'],
  [1 << 6, 'TLB lock fault'],
  [1 << 7, 'Address size fault'],
  [1 << 8, 'Unsupported upstream transaction'],
];

const bit = (w: bigint, n: number): boolean => ((w >> BigInt(n)) & 1n) === 1n;
const bits = (w: bigint, hi: number, lo: number): bigint =>
  (w >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);

export interface V3Decoded {
  smmu: string;
  client: string | null;
  words: bigint[];
  id: number;
  decodedName: string | null;
  sid: number | null;
  ssid: number | null;
  iova: string | null;
  ipa: string | null;
  fetchAddr: string | null;
  d2: Extract<Item, { k: 'smmu3-decoded2' }> | null;
}

/** Builds the fault of one SMMUv3 event from its raw words and/or its decoded lines. */
export function smmuv3Fault(e: V3Decoded): FaultDraft {
  const w = e.words.length === 4 ? e.words : null;
  const id = w ? Number(bits(w[0]!, 7, 0)) : e.id;
  const name = SMMUV3_EVENTS[id] ?? e.decodedName ?? 'UNKNOWN';
  const xlate = id >= 0x10 && id <= 0x13;
  let sid = e.sid;
  let pasid: number | null = null;
  let access: Access = 'unknown';
  let address: string | null = e.iova;
  const detail: FaultDraft['detail'] = { smmu: e.smmu, event: name };
  if (w) {
    sid = Number(bits(w[0]!, 63, 32));
    const ssv = bit(w[0]!, 11);
    const ssid = Number(bits(w[0]!, 31, 12));
    pasid = ssv ? ssid : null;
    detail.raw = w.map(bigHex).join(' ');
    if (xlate) {
      const w1 = w[1]!;
      const read = bit(w1, 35);
      const inst = bit(w1, 34);
      access = inst ? 'exec' : read ? 'read' : 'write';
      address = bigHex(w[2]!);
      detail.ipa = bigHex(w[3]! & (((1n << 52n) - 1n) ^ 0xfffn));
      detail.stag = Number(bits(w1, 15, 0));
      detail.stall = bit(w1, 31);
      detail.privileged = bit(w1, 33);
      detail.s2 = bit(w1, 39);
      detail.class = CLASS[Number(bits(w1, 41, 40))]!;
    } else {
      address = null;
      if (id === 0x03 || id === 0x09 || id === 0x25)
        detail.fetchAddr = bigHex(w[3]! & (((1n << 52n) - 1n) ^ 0x7n));
    }
  } else {
    if (e.ssid !== null && e.ssid !== 0) pasid = e.ssid;
    if (e.ipa) detail.ipa = e.ipa;
    if (e.fetchAddr) detail.fetchAddr = e.fetchAddr;
    if (e.d2) {
      access = e.d2.inst ? 'exec' : e.d2.read ? 'read' : 'write';
      detail.class = e.d2.cls;
      detail.stag = e.d2.stag;
      detail.stall = e.d2.stall;
      detail.privileged = e.d2.priv;
      detail.s2 = e.d2.s2;
    }
    if (!xlate) address = null;
  }
  if (e.client) detail.client = e.client;
  const pci = e.client ? pciName(e.client) : null;
  const cls = typeof detail.class === 'string' ? detail.class : null;
  return {
    type: 'fault',
    source: 'smmu',
    origin: 'linux',
    format: w ? (e.decodedName ? 'smmuv3-decoded' : 'smmuv3-raw') : 'smmuv3-decoded-only',
    segment: pci ? pci.segment : null,
    bdf: pci ? pci.bdf : null,
    sid,
    pasid,
    access,
    address,
    reason: id,
    reasonText: xlate && cls ? `${name}: ${cls}` : name,
    truncated: false,
    detail,
  };
}

const V3 = /^(?:arm-smmu-v3 ([\w.:@/-]{1,96})|SMMUv3: ([\w.:@/-]{1,96})): ?/;
const V3_HEAD = /^event 0x([0-9a-fA-F]{1,2}) received:$/;
const V3_WORD = /^[ \t]*0x([0-9a-fA-F]{16})$/;
const HX = '(?:0x)?([0-9a-fA-F]{1,16})';
const V3_DEC1 = new RegExp(
  `^event: ([A-Z][A-Z_]{1,40}) client: (.{1,96}?) sid: ${HX} ssid: ${HX}(?: iova: ${HX} ipa: ${HX}| fetch_addr: ${HX})?$`,
);
const V3_DEC2 =
  /^(priv|unpriv) (inst|data) (read|write) (s1|s2) "([^"]{0,80})"( ttd_read| ttd_write)?( stall)? stag: (?:0x)?([0-9a-fA-F]{1,4})(?: .*)?$/;
const V2 = /^([\w.-]{1,64}) ([\w.:@/-]{1,96}): (.*)$/;
const V2_CTX = 'Unhandled context fault: ';
const V2_BLOCKED = /^Blocked unknown Stream ID 0x([0-9a-fA-F]{1,8})(?:;.*)?$/;
const V2_GFSR =
  /^[ \t]*GFSR 0x([0-9a-fA-F]{8}), GFSYNR0 0x([0-9a-fA-F]{8}), GFSYNR1 0x([0-9a-fA-F]{8}), GFSYNR2 0x([0-9a-fA-F]{8})$/;
const V2_DECODE = /^(FSR|FSYNR0) {1,8}= ([0-9a-fA-F]{8}) \[(.{0,120})\](?:, SID=0x([0-9a-fA-F]{1,8}))?$/;

/** Recognises one logical kernel-log body (envelope already stripped). */
export function recogniseSmmu(body: string): Outcome {
  const v3 = V3.exec(body);
  if (v3) {
    const smmu = (v3[1] ?? v3[2])!;
    const rest = body.slice(v3[0].length);
    let m = V3_HEAD.exec(rest);
    if (m) return complete({ k: 'smmu3-head', smmu, id: parseInt(m[1]!, 16) });
    m = V3_WORD.exec(rest);
    if (m) return complete({ k: 'smmu3-word', smmu, word: hexBig(m[1]!)! });
    if (rest.startsWith('event: ')) {
      m = V3_DEC1.exec(rest);
      if (!m) return partial('SMMUv3 decoded event line cut short');
      return complete({
        k: 'smmu3-decoded',
        smmu,
        name: m[1]!,
        client: m[2]!,
        sid: hexNum(m[3]!),
        ssid: hexNum(m[4]!),
        iova: m[5] !== undefined ? hexAddr(m[5]) : null,
        ipa: m[6] !== undefined ? hexAddr(m[6]) : null,
        fetchAddr: m[7] !== undefined ? hexAddr(m[7]) : null,
      });
    }
    m = V3_DEC2.exec(rest);
    if (m) {
      return complete({
        k: 'smmu3-decoded2',
        smmu,
        priv: m[1] === 'priv',
        inst: m[2] === 'inst',
        read: m[3] === 'read',
        s2: m[4] === 's2',
        cls: m[5]!,
        stall: m[7] !== undefined,
        stag: hexNum(m[8]!),
      });
    }
    if (/^(?:priv|unpriv) (?:inst|data) /.test(rest)) return partial('SMMUv3 decoded event line cut short');
    return complete({ k: 'smmu3-other', smmu });
  }
  let rest: string | null = null;
  let smmu = '';
  const v2 = V2.exec(body);
  if (v2) {
    rest = v2[3]!;
    smmu = v2[2]!;
  } else if (body.startsWith('smmu: ')) {
    // Xen: "smmu: /axi/smmu@fd800000: Unhandled context fault: …"
    const x = /^smmu: ([\w.:@/-]{1,96}): (.*)$/.exec(body);
    if (x) {
      rest = x[2]!;
      smmu = x[1]!;
    }
  }
  if (rest === null) return null;
  if (rest.startsWith(V2_CTX))
    return contextFault(smmu, rest.slice(V2_CTX.length), body.startsWith('smmu: '));
  let m = V2_BLOCKED.exec(rest);
  if (m) {
    return rec({
      type: 'fault',
      source: 'smmu',
      origin: 'linux',
      format: 'smmuv2-blocked-sid',
      segment: null,
      bdf: null,
      sid: hexNum(m[1]!),
      pasid: null,
      access: 'unknown',
      address: null,
      reason: 0x2,
      reasonText: 'Blocked unknown Stream ID',
      truncated: false,
      detail: { smmu },
    });
  }
  if (rest.startsWith('Blocked unknown Stream ID'))
    return partial('SMMU "Blocked unknown Stream ID" line cut short');
  m = V2_GFSR.exec(rest);
  if (m) {
    return rec({
      type: 'info',
      what: 'smmu-gfsr',
      fields: {
        smmu,
        gfsr: `0x${m[1]!}`,
        gfsynr0: `0x${m[2]!}`,
        gfsynr1: `0x${m[3]!}`,
        gfsynr2: `0x${m[4]!}`,
      },
    });
  }
  m = V2_DECODE.exec(rest);
  if (m) {
    return rec({
      type: 'info',
      what: 'smmu-decode',
      fields: { smmu, register: m[1]!, value: `0x${m[2]!}`, bits: m[3]!, sid: m[4] ? `0x${m[4]}` : null },
    });
  }
  return null;
}

function contextFault(smmu: string, kvText: string, xen: boolean): Outcome {
  const kv = new Map<string, string>();
  for (const part of kvText.split(', ')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return partial('SMMU context fault line cut short');
    kv.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const fsrT = kv.get('fsr');
  const iovaT = kv.get('iova');
  const fsynrT = kv.get('fsynr');
  const cbT = kv.get('cb');
  if (fsrT === undefined || iovaT === undefined || fsynrT === undefined || cbT === undefined)
    return partial('SMMU context fault line cut short');
  const fsr = hexNum(fsrT);
  const fsynr = hexNum(fsynrT);
  const iova = hexAddr(iovaT);
  const cb = /^\d{1,4}$/.test(cbT) ? +cbT : null;
  const sidT = kv.get('cbfrsynra');
  const sid = sidT !== undefined ? hexNum(sidT) : null;
  if (fsr === null || fsynr === null || iova === null || cb === null || (sidT !== undefined && sid === null))
    return null;
  const names = FSR_BITS.filter(([b]) => fsr & b).map(([, n]) => n);
  return rec({
    type: 'fault',
    source: 'smmu',
    origin: xen ? 'xen' : 'linux',
    format: sidT !== undefined ? 'smmuv2' : 'smmuv2-nosid',
    segment: null,
    bdf: null,
    sid,
    pasid: null,
    access: fsynr & (1 << 6) ? 'exec' : fsynr & (1 << 4) ? 'write' : 'read',
    address: iova,
    reason: fsr,
    reasonText: names.length ? `Unhandled context fault: ${names.join(', ')}` : 'Unhandled context fault',
    truncated: false,
    detail: { smmu, fsr, fsynr, cb, plvl: fsynr & 3 },
  });
}
