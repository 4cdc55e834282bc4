// QEMU's intel-iommu model: vtd_* trace events (hw/i386/trace-events, "log" backend lines
// "pid@epoch.usec:event args", or "event args" without -msg timestamp=on) and the model's error_report
// lines on stderr. Pure recogniser. Contract:
// - vtd_dmar_fault "sid 0x%x fault %d addr 0x%x write %d" → an ObservedFault (source 'intel', origin
//   'qemu'; reason decimal as printed; reasonText from the kernel's table for that reason; the address
//   is the byte address QEMU tried, not page-aligned).
// - vtd_dmar_translate "dev %02x:%02x.%02x iova 0x%x -> gpa 0x%x mask 0x%x" (also with a leading
//   "pasid 0x%x: " in later QEMU) → a translation; vtd_iotlb_page_hit/_update "IOTLB page hit|update sid
//   0x… iova 0x… slpte 0x… domain 0x…" and vtd_dmar_slpte "sid 0x… slpte 0x… addr 0x… write %d" just before
//   it add the byte address, the leaf PTE's R/W bits, the domain (assemble.ts pairs them per thread).
// - vtd_frr_new (a fault QEMU recorded in a fault-recording register; decoded) and every other vtd_*
//   event are info records; other QEMU events are not recognised.
// - stderr: "vtd_iova_to_slpte: detected slpte permission error (iova=…, level=…, slpte=…, write=…[,
//   pasid=…])", "vtd_iommu_translate: detected translation failure (dev=bb:dd:ff, iova=…)" and the other
//   vtd_* error_report lines become info records ('qemu-report').
import { dmarReasonText } from './intel-dmar';
import { complete, partial, rec, type InfoDraft, type Outcome } from './items';
import type { Envelope } from './kernel-prefix';
import { bdfOfRid, hexAddr, hexBig, hexNum } from './values';

const H = '([0-9a-fA-F]{1,16})';
const RE = {
  fault: new RegExp(`^sid 0x${H} fault (\\d{1,3}) addr 0x${H} write ([01])$`),
  translate: new RegExp(
    `^(?:pasid 0x${H}: )?dev ([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\\.([0-9a-fA-F]{2}) iova 0x${H} -> gpa 0x${H} mask 0x${H}$`,
  ),
  iotlb: new RegExp(`^IOTLB page (hit|update) sid 0x${H} iova 0x${H} (?:sl|fl|fs)?pte 0x${H} domain 0x${H}$`),
  slpte: new RegExp(`^sid 0x${H} (?:sl|fl|fs)?pte 0x${H} addr 0x${H} write ([01])$`),
  frr: new RegExp(`^index (\\d{1,4}) high 0x${H} low 0x${H}$`),
  bare: /^(vtd_[a-z0-9_]{1,60})(?: (.*))?$/,
  report: /^(vtd_[a-z0-9_]{1,60}):(?: (.*))?$/,
  slpteErr: new RegExp(
    `^detected ([a-z]{1,6} (?:permission error|reserve non-zero)) \\(?iova=0x${H}, level=0x${H},? ?[a-z]{0,3}pte=0x${H}(?:, write=([01]))?(?:, pasid=0x${H})?\\)$`,
  ),
  xlateErr: new RegExp(
    `^detected translation failure \\(dev=([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{1,2}), iova=0x${H}\\)$`,
  ),
};

const KNOWN_ARGS = new Set([
  'vtd_dmar_fault',
  'vtd_dmar_translate',
  'vtd_iotlb_page_hit',
  'vtd_iotlb_page_update',
  'vtd_dmar_slpte',
  'vtd_frr_new',
]);

function info(what: string, fields: InfoDraft['fields']): InfoDraft {
  return { type: 'info', what, fields };
}

/** One vtd_* trace event: name and its argument text. */
export function recogniseVtdEvent(event: string, args: string, thread: number | null): Outcome {
  if (!event.startsWith('vtd_')) return null;
  let m: RegExpExecArray | null;
  switch (event) {
    case 'vtd_dmar_fault': {
      if (!(m = RE.fault.exec(args))) break;
      const sid = hexNum(m[1]!)!;
      const reason = +m[2]!;
      return rec({
        type: 'fault',
        source: 'intel',
        origin: 'qemu',
        format: 'qemu-vtd_dmar_fault',
        segment: null,
        bdf: bdfOfRid(null, sid),
        sid,
        pasid: null,
        access: m[4] === '1' ? 'write' : 'read',
        address: hexAddr(m[3]!),
        reason,
        reasonText: dmarReasonText(reason),
        truncated: false,
        detail: {},
      });
    }
    case 'vtd_dmar_translate': {
      if (!(m = RE.translate.exec(args))) break;
      return complete({
        k: 'qemu-translate',
        thread,
        pasid: m[1] !== undefined ? hexNum(m[1]) : null,
        bus: parseInt(m[2]!, 16),
        dev: parseInt(m[3]!, 16),
        fn: parseInt(m[4]!, 16),
        iova: hexAddr(m[5]!)!,
        gpa: hexAddr(m[6]!)!,
        mask: hexAddr(m[7]!)!,
      });
    }
    case 'vtd_iotlb_page_hit':
    case 'vtd_iotlb_page_update': {
      if (!(m = RE.iotlb.exec(args))) break;
      const sid = hexNum(m[2]!)!;
      const domain = hexNum(m[5]!)!;
      return complete({
        k: 'qemu-iotlb',
        thread,
        hit: m[1] === 'hit',
        sid,
        iova: hexAddr(m[3]!)!,
        pte: hexAddr(m[4]!)!,
        domain,
        info: info(event, { sid, iova: hexAddr(m[3]!), slpte: hexAddr(m[4]!), domain }),
      });
    }
    case 'vtd_dmar_slpte': {
      if (!(m = RE.slpte.exec(args))) break;
      const sid = hexNum(m[1]!)!;
      return complete({
        k: 'qemu-slpte',
        thread,
        sid,
        pte: hexAddr(m[2]!)!,
        addr: hexAddr(m[3]!)!,
        write: m[4] === '1',
        info: info(event, { sid, slpte: hexAddr(m[2]!), addr: hexAddr(m[3]!), write: m[4] === '1' }),
      });
    }
    case 'vtd_frr_new': {
      if (!(m = RE.frr.exec(args))) break;
      return rec(info(event, { index: +m[1]!, ...decodeFrcd(hexBig(m[2]!)!), low: hexAddr(m[3]!) }));
    }
    default:
      return rec(info('qemu-event', { event, args }));
  }
  return KNOWN_ARGS.has(event) ? partial(`QEMU ${event} arguments do not match hw/i386/trace-events`) : null;
}

/** Fault Recording Register high qword (VT-d: F bit 63, T bit 62 (1 = read), PASID 59:40, PP bit 31,
 * FR 39:32, SID 15:0). */
function decodeFrcd(high: bigint): InfoDraft['fields'] {
  const b = (lo: number, n: number): number => Number((high >> BigInt(lo)) & ((1n << BigInt(n)) - 1n));
  const pp = b(31, 1) === 1;
  return {
    sid: b(0, 16),
    reason: b(32, 8),
    read: b(62, 1) === 1,
    pasid: pp ? b(40, 20) : null,
    high: `0x${high.toString(16)}`,
  };
}

/** A plain body: a bare "vtd_event args" line (log backend without timestamps) or a stderr report. */
export function recogniseQemuBody(body: string, env: Envelope): Outcome {
  let m = RE.report.exec(body);
  if (m) {
    const fn = m[1]!;
    const msg = m[2] ?? '';
    const s = RE.slpteErr.exec(msg);
    if (s) {
      return rec(
        info('qemu-report', {
          function: fn,
          error: s[1]!,
          iova: hexAddr(s[2]!),
          level: hexNum(s[3]!),
          slpte: hexAddr(s[4]!),
          write: s[5] === undefined ? null : s[5] === '1',
          pasid: s[6] === undefined ? null : hexNum(s[6]),
        }),
      );
    }
    const x = RE.xlateErr.exec(msg);
    if (x) {
      const bus = parseInt(x[1]!, 16);
      const dev = parseInt(x[2]!, 16);
      const fn2 = parseInt(x[3]!, 16);
      return rec(
        info('qemu-report', {
          function: fn,
          error: 'translation failure',
          bdf: dev < 32 && fn2 < 8 ? bdfOfRid(null, (bus << 8) | (dev << 3) | fn2) : null,
          iova: hexAddr(x[4]!),
        }),
      );
    }
    if (msg === '' || (msg.includes('(') && !msg.endsWith(')')))
      return partial(`QEMU ${fn} report cut short`);
    return rec(info('qemu-report', { function: fn, message: msg }));
  }
  if (body === 'New fault is not recorded due to compression of faults')
    return rec(info('qemu-report', { message: body }));
  if (env.layers.includes('qemu-stderr')) return null;
  m = RE.bare.exec(body);
  if (m && m[2] !== undefined) return recogniseVtdEvent(m[1]!, m[2], null);
  return null;
}
