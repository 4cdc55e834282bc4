// Intel VT-d fault lines printed by drivers/iommu/intel/dmar.c (dmar_fault / dmar_fault_do_one), in
// every format the driver has used. Pure recogniser: one logical line in, an Outcome out. Contract:
// - Formats (the `format` field of the fault):
//   'dmar-2009'  ≤ 4.0, two printk lines: "DMAR:[DMA Read] Request device [00:02.0] fault addr 7fe0000 "
//                then "DMAR:[fault reason 06] PTE Read access is not set" (reason decimal, %02d); the
//                interrupt form "INTR-REMAP: Request device [[00:02.0] fault index 1600" +
//                "INTR-REMAP:[fault reason 37] …". Xen's copy prints "[fault reason 06h]" (hex) and
//                ", iommu reg = …"; both are accepted.
//   'dmar-2015'  4.1–5.4: "DMAR: [DMA Write] Request device [00:12.0] fault addr 0 [fault reason 05] …"
//                (decimal reason, address %llx without 0x)
//   'dmar-2019'  5.5–5.13: "… Request device [06:00.0] PASID ffffffff fault addr 0 [fault reason 05] …"
//                (PASID ffffffff = none; decimal reason)
//   'dmar-2021'  5.14: "[DMA Read NO_PASID] Request device [0x00:0x02.0] fault addr 0x70ad5000
//                [fault reason 0x07] …" (hex reason, 0x before bus/device)
//   'dmar-2021b' 5.15+: the same without the 0x before bus/device; "[DMA Read PASID 0x0]" when a PASID
//                was present
//   'intr-remap' / 'intr-remap-old': "[INTR-REMAP] Request device [65:00.0] fault index 0x25
//                [fault reason 0x22] …" (hex) and the older decimal "fault index 1600 [fault reason 37]".
// - The reason radix follows the format (never the text). The text must be the driver's own text for
//   that reason (tables below, from dmar.c); a strict prefix of it means the line was cut (wrapped or
//   truncated), so the recogniser answers `partial` with the usable fault.
// - Other recognised lines become info records: "DRHD: handling fault status reg 2", "dmar_fault: N
//   callbacks suppressed", and the scalable-mode page-table dump that follows a fault (≥ 5.17).
// - The fault line carries no PCI segment: segment is null and bdf assumes 0000.
import { complete, partial, rec, type FaultDraft, type Outcome } from './items';
import { bdfOf, decNum, hexAddr, hexNum } from './values';
import { faultReasonText } from '../../engine/vtd/fault-reasons';

/** dmar_get_fault_reason(): the text the driver prints for a reason (current tables). */
export function dmarReasonText(reason: number): string {
  return faultReasonText(reason);
}

/** true when `text` is the driver's text for `reason`; 'prefix' when it is a strict prefix of it. */
function textState(reason: number, text: string): 'full' | 'prefix' | 'other' {
  const want = dmarReasonText(reason);
  if (text === want) return 'full';
  if (text.length < want.length && want.startsWith(text)) return 'prefix';
  return 'other';
}

// "DMAR: ", "dmar: " (4.0/4.1 pr_fmt), "DMAR:" glued to "[", Xen's "[VT-D]iommu.c:123: " (any order, ≤ 3)
const TAG = /^(?:\[VT-D\](?:[\w-]{1,40}\.c:\d{1,6}: ?)?)?(?:(?:DMAR|dmar): ?){0,2}/;
const HEX = '[0-9a-fA-F]';
const DEV = `\\[(?:(${HEX}{4}):)?(0x)?(${HEX}{2}):(?:0x)?(${HEX}{2})\\.([0-7])\\]`;
const REASON = `\\[fault reason (0x${HEX}{1,2}|${HEX}{1,2}h|\\d{1,3})\\]`;
const RE_FAULT = new RegExp(
  `^\\[(DMA Read|DMA Write)(?: (NO_PASID|PASID 0x(${HEX}{1,8})))?\\] Request device ${DEV}(?: PASID (${HEX}{1,8}))? fault addr (?:0x)?(${HEX}{1,16}) ${REASON} ?(.*)$`,
);
const RE_HEAD = new RegExp(
  `^\\[(DMA Read|DMA Write)\\] Request device ${DEV} fault addr (?:0x)?(${HEX}{1,16})(?:, iommu reg = \\S{1,40})? ?$`,
);
const RE_INTR = new RegExp(
  `^\\[INTR-REMAP\\] Request device ${DEV} fault index (0x)?(${HEX}{1,16}) ${REASON} ?(.*)$`,
);
const RE_INTR_HEAD = new RegExp(`^INTR-REMAP: Request device \\[${DEV} fault index (${HEX}{1,16}) ?$`);
const RE_REASON_LINE = new RegExp(`^(INTR-REMAP: ?)?${REASON} ?(.*)$`);
const RE_STATUS = /^DRHD: handling fault status reg ([0-9a-fA-F]{1,8})$/;
const RE_SUPPRESSED = /^dmar_fault: (\d{1,12}) callbacks suppressed$/;
const RE_DUMP_HEAD = /^Dump (dmar\d{1,4}) table entries for IOVA 0x([0-9a-fA-F]{1,16})$/;
const RE_DUMP_HILO =
  /^(scalable mode root entry|root entry|context entry): hi 0x([0-9a-fA-F]{1,16}), low 0x([0-9a-fA-F]{1,16})$/;
const RE_DUMP_HILO_ANCHOR = /^(scalable mode root entry|root entry|context entry): hi /;
const RE_DUMP_ONE =
  /^(root entry|pasid dir entry|pasid table entry\[\d{1,3}\]|pte level: \d, pte value): 0x([0-9a-fA-F]{1,16})$/;
const RE_DUMP_PTE = /^PTE not present at level (\d)$/;

function parseReason(tok: string): { value: number; radix: 10 | 16 } | null {
  if (tok.startsWith('0x')) {
    const v = hexNum(tok);
    return v === null ? null : { value: v, radix: 16 };
  }
  if (tok.endsWith('h')) {
    const v = hexNum(tok.slice(0, -1));
    return v === null ? null : { value: v, radix: 16 };
  }
  const v = decNum(tok);
  return v === null ? null : { value: v, radix: 10 };
}

function withText(f: FaultDraft, text: string): Outcome {
  // a trailing "=" is a quoted-printable soft break: the text goes on in the next physical line
  const soft = text.endsWith('=') && textState(f.reason, text.slice(0, -1)) === 'prefix';
  if (soft || textState(f.reason, text) === 'prefix') {
    // the rest of the text may be on the next (wrapped) line; keep the fault if it is not
    const kept = { ...f, reasonText: soft ? text.slice(0, -1) : text, truncated: true };
    return partial('DMAR fault reason text cut short', [{ k: 'rec', rec: kept }]);
  }
  return rec(f);
}

/** Recognises one logical kernel-log body (envelope already stripped). */
export function recogniseDmar(body: string): Outcome {
  if (body.startsWith('dmar_fault:')) {
    const s = RE_SUPPRESSED.exec(body);
    return s ? rec({ type: 'info', what: 'dmar-suppressed', fields: { count: +s[1]! } }) : null;
  }
  if (body.startsWith('INTR-REMAP:')) return intrOld(body);
  const t = TAG.exec(body);
  if (!t || t[0] === '') return null;
  const rest = body.slice(t[0].length);
  if (rest.startsWith('[DMA') || rest.startsWith('[INTR-REMAP]')) return faultLine(rest);
  if (rest.startsWith('[fault reason')) {
    const m = RE_REASON_LINE.exec(rest);
    if (!m) return partial('DMAR "[fault reason" line cut short');
    const r = parseReason(m[2]!);
    if (!r) return null;
    return complete({ k: 'dmar-reason', reason: r.value, text: m[3]!, intr: false });
  }
  if (rest.startsWith('INTR-REMAP:')) return intrOld(rest);
  if (rest.startsWith('DRHD: handling')) {
    const m = RE_STATUS.exec(rest);
    return m
      ? rec({ type: 'info', what: 'dmar-fault-status', fields: { fsts: `0x${m[1]!.toLowerCase()}` } })
      : null;
  }
  let m = RE_DUMP_HEAD.exec(rest);
  if (m) return rec({ type: 'info', what: 'dmar-dump', fields: { iommu: m[1]!, iova: hexAddr(m[2]!) } });
  m = RE_DUMP_HILO.exec(rest);
  if (m)
    return rec({
      type: 'info',
      what: 'dmar-dump',
      fields: { entry: m[1]!, hi: hexAddr(m[2]!), low: hexAddr(m[3]!) },
    });
  if (RE_DUMP_HILO_ANCHOR.test(rest)) return partial('DMAR table dump line cut short');
  m = RE_DUMP_ONE.exec(rest);
  if (m) return rec({ type: 'info', what: 'dmar-dump', fields: { entry: m[1]!, value: hexAddr(m[2]!) } });
  m = RE_DUMP_PTE.exec(rest);
  if (m) return rec({ type: 'info', what: 'dmar-dump', fields: { notPresentLevel: +m[1]! } });
  return null;
}

function base(
  bdf: string | null,
  segment: number | null,
  bus: number,
  devfn: number,
): Omit<FaultDraft, 'access' | 'address' | 'reason' | 'reasonText' | 'format' | 'pasid' | 'detail'> {
  return {
    type: 'fault',
    source: 'intel',
    origin: 'linux',
    segment,
    bdf,
    sid: (bus << 8) | devfn,
    truncated: false,
  };
}

function faultLine(rest: string): Outcome {
  if (rest.startsWith('[INTR-REMAP]')) {
    const m = RE_INTR.exec(rest);
    if (!m) return partial('DMAR interrupt-remapping fault line cut short');
    const [, seg, , bus, dev, fn, ox, idx, reasonTok, text] = m;
    const r = parseReason(reasonTok!);
    const index = hexNum(idx!);
    if (!r || index === null) return null;
    const segment = seg ? parseInt(seg, 16) : null;
    const b = parseInt(bus!, 16);
    const d = parseInt(dev!, 16);
    const bdf = bdfOf(segment, b, d, +fn!);
    if (bdf === null) return null;
    return withText(
      {
        ...base(bdf, segment, b, (d << 3) | +fn!),
        format: ox ? 'intr-remap' : 'intr-remap-old',
        pasid: null,
        access: 'interrupt',
        address: null,
        reason: r.value,
        reasonText: text!,
        detail: { index },
      },
      text!,
    );
  }
  const m = RE_FAULT.exec(rest);
  if (!m) {
    const h = RE_HEAD.exec(rest);
    if (h) return headLine(h);
    return partial('DMAR fault line cut short');
  }
  const [, dir, pasidWord, pasidHex, seg, ox, bus, dev, fn, pasidOld, addr, reasonTok, text] = m;
  const r = parseReason(reasonTok!);
  const address = hexAddr(addr!);
  if (!r || address === null) return null;
  let pasid: number | null = null;
  let format: string;
  if (pasidWord !== undefined) {
    format = ox ? 'dmar-2021' : 'dmar-2021b';
    pasid = pasidHex !== undefined ? hexNum(pasidHex) : null;
  } else if (pasidOld !== undefined) {
    format = 'dmar-2019';
    const p = hexNum(pasidOld);
    pasid = p === 0xffffffff ? null : p;
  } else format = 'dmar-2015';
  const segment = seg ? parseInt(seg, 16) : null;
  const b = parseInt(bus!, 16);
  const d = parseInt(dev!, 16);
  const bdf = bdfOf(segment, b, d, +fn!);
  if (bdf === null) return null;
  return withText(
    {
      ...base(bdf, segment, b, (d << 3) | +fn!),
      format,
      pasid,
      access: dir === 'DMA Read' ? 'read' : 'write',
      address,
      reason: r.value,
      reasonText: text!,
      detail: { reasonRadix: r.radix },
    },
    text!,
  );
}

function headLine(h: RegExpExecArray): Outcome {
  const [, dir, seg, , bus, dev, fn, addr] = h;
  const address = hexAddr(addr!);
  const segment = seg ? parseInt(seg, 16) : null;
  const b = parseInt(bus!, 16);
  const d = parseInt(dev!, 16);
  const bdf = bdfOf(segment, b, d, +fn!);
  if (address === null || bdf === null) return null;
  const fault: FaultDraft = {
    ...base(bdf, segment, b, (d << 3) | +fn!),
    format: 'dmar-2009',
    pasid: null,
    access: dir === 'DMA Read' ? 'read' : 'write',
    address,
    reason: -1,
    reasonText: '',
    detail: { reasonRadix: 10 },
  };
  // its "[fault reason …]" follows: on the next printk line (assemble.ts joins them) or, when a mail
  // client wrapped a newer one-line format after "fault addr X", on the next physical line
  return partial('DMAR fault line without its "[fault reason" part', [{ k: 'dmar-head', fault }]);
}

function intrOld(body: string): Outcome {
  const after = body.slice('INTR-REMAP:'.length).replace(/^ /, '');
  if (after.startsWith('[fault reason')) {
    const m = RE_REASON_LINE.exec(after);
    if (!m) return partial('INTR-REMAP "[fault reason" line cut short');
    const r = parseReason(m[2]!);
    if (!r) return null;
    return complete({ k: 'dmar-reason', reason: r.value, text: m[3]!, intr: true });
  }
  const m = RE_INTR_HEAD.exec(body);
  if (!m) return after.startsWith('Request device') ? partial('INTR-REMAP fault line cut short') : null;
  const [, seg, , bus, dev, fn, idx] = m;
  const segment = seg ? parseInt(seg, 16) : null;
  const b = parseInt(bus!, 16);
  const d = parseInt(dev!, 16);
  const bdf = bdfOf(segment, b, d, +fn!);
  const index = hexNum(idx!);
  if (bdf === null || index === null) return null;
  return partial('INTR-REMAP fault line without its "[fault reason" part', [
    {
      k: 'dmar-head',
      fault: {
        ...base(bdf, segment, b, (d << 3) | +fn!),
        format: 'intr-remap-2009',
        pasid: null,
        access: 'interrupt',
        address: null,
        reason: -1,
        reasonText: '',
        detail: { index, reasonRadix: 10 },
      },
    },
  ]);
}
