// Reads the two views of a crosscheck capture through the lab's import path. Contract:
// - CaptureReader streams text (pushText, any chunking; or pushLine) into an ImportSession
//   (src/trace/import: format detection, the Intel DMAR / tracepoint / boot-hint / QEMU vtd_* recognisers,
//   bad-line accounting) and, line by line, into the crosscheck's own recognisers for what those importers do
//   not read (workload-lines.ts: PHASE markers, PCI and group listings, pci_nvme_read marker reads).
//   end() returns a GuestCapture or QemuCapture (types.ts). Nothing here does I/O; gzip is the caller's job.
// - The role is checked against the detected format: a guest console that reads as a QEMU trace (or the
//   reverse) is an error issue (swapped arguments) and yields an empty capture.
// - Interleaving: when the clock goes back by more than `maxBackstep` seconds (a second boot in the same
//   console, two QEMU runs mixed), an error issue names the line, and only what precedes it is used.
// - Every record that cannot be used (a map without a time, an unknown vtd_* argument form) becomes a
//   warning issue; the reader never throws on input.
import {
  ImportSession,
  cleanLine,
  parseEnvelope,
  type ImportRecord,
  type ImportSummary,
} from '../trace/import/index';
import type { GuestCapture, Issue, QemuCapture, QemuEvent, WorkloadGroup } from './types';
import { recogniseGuestWorkload, recogniseQemuWorkload } from './workload-lines';

export type CaptureRole = 'guest' | 'qemu';

export interface CaptureReaderOptions {
  /** clock step back (seconds) that counts as interleaving; default 1 (guest) / 0.5 (QEMU) */
  maxBackstep?: number;
}

const ROLE_NAME: Record<CaptureRole, string> = { guest: 'guest console', qemu: 'QEMU trace' };

function big(text: unknown): bigint | null {
  if (typeof text !== 'string' || !/^0x[0-9a-f]{1,16}$/i.test(text)) return null;
  return BigInt(text);
}

/** "00:03.00" (QEMU's %02x:%02x.%02x) → requester id. */
function ridOfQemuBdf(text: string): number | null {
  const m = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-9a-fA-F]{1,2})$/.exec(text);
  if (!m) return null;
  const bus = parseInt(m[1]!, 16);
  const dev = parseInt(m[2]!, 16);
  const fn = parseInt(m[3]!, 16);
  if (dev > 31 || fn > 7) return null;
  return (bus << 8) | (dev << 3) | fn;
}

const QEMU_ARGS = {
  pages: /^iotlb invalidate domain 0x([0-9a-f]{1,8}) addr 0x([0-9a-f]{1,16}) mask 0x([0-9a-f]{1,4})$/i,
  domain: /^iotlb invalidate whole domain 0x([0-9a-f]{1,8})$/i,
  global: /^iotlb invalidate global$/i,
  ccGlobal: /^context invalidate glob/i,
  ccDevice: /^context invalidate device (\S{1,16})$/i,
  ccDomain: /^context invalidate domain 0x([0-9a-f]{1,8})$/i,
  root: /^(?:addr|RTADDR) 0x([0-9a-f]{1,16})(?: scalable (\d))?/i,
  enable: /^enable (\d)$/,
  pteName: /\b(sl|fl|fs)?pte 0x/,
};

export class CaptureReader {
  private readonly session: ImportSession;
  private lineNo = 0;
  private partial = '';
  private cutoff = Infinity;
  private lastTime: number | null = null;
  private firstTime: number | null = null;
  private readonly issues: Issue[] = [];
  private readonly maxBackstep: number;
  private readonly guest: GuestCapture;
  private readonly qemu: QemuCapture;
  private currentGroup: WorkloadGroup | null = null;
  private summary: ImportSummary | null = null;
  private readonly pteNames = new Set<string>();

  constructor(
    readonly role: CaptureRole,
    readonly file: string,
    opts: CaptureReaderOptions = {},
  ) {
    this.maxBackstep = opts.maxBackstep ?? (role === 'guest' ? 1 : 0.5);
    this.session = new ImportSession({ file, onRecord: (r) => this.record(r), keepBadLines: 20 });
    this.guest = {
      file,
      lines: 0,
      ops: [],
      devices: [],
      faults: [],
      faultStatus: [],
      phases: [],
      pci: [],
      groups: [],
      groupHints: [],
      units: [],
      haw: null,
      cmdline: null,
      firstTime: null,
      lastTime: null,
      badLines: 0,
      issues: this.issues,
    };
    this.qemu = {
      file,
      lines: 0,
      events: [],
      nvmeReads: [],
      pteNames: [],
      firstTime: null,
      lastTime: null,
      badLines: 0,
      issues: this.issues,
    };
  }

  /** Feeds a chunk of text; lines may span chunks. */
  pushText(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const p of parts) this.pushLine(p);
  }

  /** Feeds one physical line without its newline. */
  pushLine(text: string): void {
    this.lineNo++;
    this.session.pushLine(text);
    if (this.lineNo >= this.cutoff) return;
    const env = parseEnvelope(cleanLine(text));
    if (env.time !== null && (this.role === 'qemu' ? env.clock === 'epoch' : env.clock === 'boot')) {
      if (this.lastTime !== null && env.time < this.lastTime - this.maxBackstep) {
        this.cutoff = this.lineNo;
        this.issue(
          'error',
          this.lineNo,
          `the clock goes back from ${this.lastTime.toFixed(6)} to ${env.time.toFixed(6)} s: the ${ROLE_NAME[this.role]} ` +
            `holds more than one run or interleaved logs; only lines 1–${this.lineNo - 1} are used`,
        );
        return;
      }
      this.firstTime ??= env.time;
      this.lastTime = Math.max(this.lastTime ?? env.time, env.time);
    }
    const w = this.role === 'guest' ? recogniseGuestWorkload(env) : recogniseQemuWorkload(env);
    if (w === null) return;
    const line = this.lineNo;
    switch (w.k) {
      case 'phase':
        this.guest.phases.push({ phase: w.phase, line, time: env.time, text: w.text, lba: w.lba });
        return;
      case 'cmdline':
        this.guest.cmdline ??= w.text;
        return;
      case 'pci':
        this.currentGroup = null;
        this.guest.pci.push({
          bdf: w.bdf,
          vendor: w.vendor,
          device: w.device,
          classCode: w.classCode,
          driver: w.driver,
          line,
        });
        return;
      case 'group':
        this.currentGroup = { id: w.id, type: w.type, devices: w.devices, reserved: [], line };
        this.guest.groups.push(this.currentGroup);
        return;
      case 'reserved':
        if (this.currentGroup) this.currentGroup.reserved.push({ start: w.start, end: w.end, type: w.type });
        else this.issue('warning', line, 'a "reserved:" line outside a group listing');
        return;
      case 'nvme-read':
        if (env.time !== null) this.qemu.nvmeReads.push({ line, time: env.time, lba: w.lba });
        return;
    }
  }

  /** Ends the input: the capture of this role (the other role's fields stay empty). */
  end(): { guest: GuestCapture; qemu: QemuCapture; summary: ImportSummary } {
    if (this.partial !== '') {
      const last = this.partial;
      this.partial = '';
      this.pushLine(last);
    }
    this.summary ??= this.session.end();
    const s = this.summary;
    const detected = s.kind;
    if (this.role === 'guest' && detected === 'qemu-trace')
      this.issue('error', null, 'this file reads as a QEMU trace, not a guest console (arguments swapped?)');
    if (this.role === 'qemu' && detected !== 'qemu-trace')
      this.issue(
        'error',
        null,
        `this file reads as ${detected}, not a QEMU vtd_* trace (arguments swapped?)`,
      );
    if (s.counts.bad > 0) {
      const first = s.badLines[0];
      this.issue(
        'warning',
        first?.line ?? null,
        `${s.counts.bad} line(s) could not be read (first: ${first ? `${first.reason}: ${first.text}` : '?'})`,
      );
    }
    this.qemu.events.sort((a, b) => a.line - b.line);
    this.guest.ops.sort((a, b) => a.line - b.line);
    this.guest.ops.forEach((o, i) => (o.index = i));
    this.qemu.pteNames = [...this.pteNames].sort();
    for (const c of [this.guest, this.qemu]) {
      c.lines = this.lineNo;
      c.firstTime = this.firstTime;
      c.lastTime = this.lastTime;
      c.badLines = s.counts.bad;
    }
    return { guest: this.guest, qemu: this.qemu, summary: s };
  }

  /** An input problem found outside the reader (a gzip stream that breaks off): an issue at the current line. */
  fail(message: string): void {
    this.issue('error', this.lineNo, message);
  }

  private issue(level: Issue['level'], line: number | null, message: string): void {
    this.issues.push({ level, source: this.role, line, message });
  }

  private record(r: ImportRecord): void {
    if (r.line >= this.cutoff) return;
    if (this.role === 'guest') this.guestRecord(r);
    else this.qemuRecord(r);
  }

  private guestRecord(r: ImportRecord): void {
    switch (r.type) {
      case 'event': {
        if (r.op === 'map' || r.op === 'unmap') {
          const iova = big(r.iova);
          if (iova === null || r.size === null || r.time === null) {
            this.issue('warning', r.line, `iommu:${r.op} without address, size or time: skipped`);
            return;
          }
          this.guest.ops.push({
            op: r.op,
            index: 0,
            line: r.line,
            time: r.time,
            iova,
            size: BigInt(r.size),
            paddr: big(r.paddr),
            unmappedSize: r.unmappedSize === null ? null : BigInt(r.unmappedSize),
            raw: r.raw,
          });
          return;
        }
        if (r.op === 'io_page_fault' || r.bdf === null) return;
        this.guest.devices.push({ op: r.op, line: r.line, time: r.time, bdf: r.bdf, group: r.groupId });
        return;
      }
      case 'fault': {
        if (r.source !== 'intel' || r.origin !== 'linux' || r.access === 'interrupt') return;
        const address = big(r.address);
        if (address === null) return;
        this.guest.faults.push({
          line: r.line,
          time: r.time,
          bdf: r.bdf,
          sid: r.sid,
          access: r.access,
          address,
          reason: r.reason,
          pasid: r.pasid,
          raw: r.raw,
        });
        return;
      }
      case 'info':
        if (r.what === 'dmar-fault-status' && typeof r.fields.fsts === 'string')
          this.guest.faultStatus.push({ line: r.line, time: r.time, fsts: parseInt(r.fields.fsts, 16) });
        return;
      case 'hint': {
        const f = r.fields;
        if (r.kind === 'dmar-unit') {
          const base = big(f.base);
          const cap = big(f.cap);
          const ecap = big(f.ecap);
          if (base !== null && cap !== null && ecap !== null)
            this.guest.units.push({ name: String(f.iommu), base, cap, ecap, line: r.line });
        } else if (r.kind === 'haw' && typeof f.bits === 'number') this.guest.haw = f.bits;
        else if (
          r.kind === 'group' &&
          f.action === 'add' &&
          typeof f.bdf === 'string' &&
          typeof f.group === 'number'
        )
          this.guest.groupHints.push({ bdf: f.bdf, group: f.group, line: r.line });
        return;
      }
      default:
        return;
    }
  }

  private qemuRecord(r: ImportRecord): void {
    const time = r.time;
    if (time === null) return;
    let e: QemuEvent | null = null;
    switch (r.type) {
      case 'translation': {
        const iova = big(r.iova);
        const gpa = big(r.gpa);
        const mask = big(r.mask);
        if (iova === null || gpa === null || mask === null || r.sid === null) break;
        e = {
          type: 'translation',
          line: r.line,
          time,
          sid: r.sid,
          bdf: r.bdf,
          iova,
          gpa,
          mask,
          addr: big(r.accessAddress) ?? iova,
          pte: big(r.pte),
          domain: r.domain,
          result: r.result,
          raw: r.raw,
        };
        break;
      }
      case 'fault': {
        const addr = big(r.address);
        if (r.origin !== 'qemu' || r.sid === null || addr === null) break;
        e = {
          type: 'fault',
          line: r.line,
          time,
          sid: r.sid,
          reason: r.reason,
          addr,
          write: r.access === 'write',
          raw: r.raw,
        };
        break;
      }
      case 'info':
        e = this.qemuInfo(r.what, r.fields, r.line, time, r.raw);
        break;
      default:
        break;
    }
    if (e) this.qemu.events.push(e);
  }

  private qemuInfo(
    what: string,
    f: Record<string, string | number | boolean | null>,
    line: number,
    time: number,
    raw: string,
  ): QemuEvent | null {
    if (what === 'vtd_frr_new') {
      const high = big(f.high);
      const low = big(f.low);
      if (high === null || low === null || typeof f.index !== 'number') return null;
      return { type: 'frr', line, time, index: f.index, high, low };
    }
    if (what === 'vtd_iotlb_page_hit' || what === 'vtd_iotlb_page_update') {
      const m = QEMU_ARGS.pteName.exec(raw);
      if (m) this.pteNames.add(`${m[1] ?? ''}pte`);
      return null;
    }
    if (what !== 'qemu-event' || typeof f.event !== 'string') return null;
    const args = typeof f.args === 'string' ? f.args : '';
    let m: RegExpExecArray | null;
    switch (f.event) {
      case 'vtd_inv_desc_iotlb_pages':
        if (!(m = QEMU_ARGS.pages.exec(args))) break;
        return {
          type: 'iotlb-inv',
          line,
          time,
          scope: 'page',
          did: parseInt(m[1]!, 16),
          addr: BigInt(`0x${m[2]!}`),
          am: parseInt(m[3]!, 16),
          raw,
        };
      case 'vtd_inv_desc_iotlb_domain':
        if (!(m = QEMU_ARGS.domain.exec(args))) break;
        return {
          type: 'iotlb-inv',
          line,
          time,
          scope: 'domain',
          did: parseInt(m[1]!, 16),
          addr: 0n,
          am: 0,
          raw,
        };
      case 'vtd_inv_desc_iotlb_global':
        if (!QEMU_ARGS.global.test(args)) break;
        return { type: 'iotlb-inv', line, time, scope: 'global', did: null, addr: 0n, am: 0, raw };
      case 'vtd_inv_desc_cc_global':
        if (!QEMU_ARGS.ccGlobal.test(args)) break;
        return { type: 'cc-inv', line, time, scope: 'global', sid: null, did: null, raw };
      case 'vtd_inv_desc_cc_device': {
        if (!(m = QEMU_ARGS.ccDevice.exec(args))) break;
        const sid = ridOfQemuBdf(m[1]!);
        if (sid === null) break;
        return { type: 'cc-inv', line, time, scope: 'device', sid, did: null, raw };
      }
      case 'vtd_inv_desc_cc_domain':
        if (!(m = QEMU_ARGS.ccDomain.exec(args))) break;
        return { type: 'cc-inv', line, time, scope: 'domain', sid: null, did: parseInt(m[1]!, 16), raw };
      case 'vtd_reg_dmar_root':
        if (!(m = QEMU_ARGS.root.exec(args))) break;
        return { type: 'root', line, time, addr: BigInt(`0x${m[1]!}`), scalable: m[2] === '1' };
      case 'vtd_dmar_enable':
        if (!(m = QEMU_ARGS.enable.exec(args))) break;
        return { type: 'enable', line, time, enabled: m[1] === '1' };
      default:
        return null;
    }
    this.issue('warning', line, `${f.event} arguments not understood: ${args}`);
    return null;
  }
}

/** Reads a whole text of one role (tests, small inputs, the UI). */
export function readCapture(role: 'guest', file: string, text: string): GuestCapture;
export function readCapture(role: 'qemu', file: string, text: string): QemuCapture;
export function readCapture(role: CaptureRole, file: string, text: string): GuestCapture | QemuCapture {
  const r = new CaptureReader(role, file);
  r.pushText(text);
  const c = r.end();
  return role === 'guest' ? c.guest : c.qemu;
}
