// The "envelope" around a log line: what mail clients, syslog daemons, journalctl, dmesg, Xen, QEMU
// and ftrace put in front of the message. Contract:
// - cleanLine() undoes transport damage on one physical line: trailing CR, ANSI/VT100 escapes (serial
//   consoles), quoted-printable "=3D", e-mail quoting ("> > ", any depth) and diff context ("+# ").
// - parseEnvelope() strips every envelope layer it recognises, in any order, and returns the message
//   body plus the best timestamp (printk monotonic wins over wall clocks). Formats: rsyslog/BSD syslog
//   and journalctl short/short-precise ("May 30 17:32:17[.123456] host kernel: "), ISO syslog/journal
//   short-iso(-precise) ("2025-01-13T10:03:12.035211+01:00 host kernel: "), bare "kernel: ", dmesg
//   monotonic "[  12.345678]" (also with -d "<delta>"), dmesg -e/-H relative "[  +0.012066]" and its
//   "[Feb16 10:26]" header, dmesg -T ctime "[Mon Jan  3 10:00:00 2022]", dmesg --time-format=iso,
//   dmesg -x "kern  :err   : ", dmesg -r / syslog priority "<3>", /dev/kmsg records "3,812,12345678,-;",
//   journalctl short-full ("Mon 2025-01-13 10:03:12 CET host kernel: ") and short-unix ("1736758992.035211
//   host kernel: "), printk caller ids "[    T0]", Xen "(XEN) " (with optional date),
//   QEMU stderr ("2023-02-13T07:02:37.074397Z qemu-system-x86_64: "), QEMU's log trace backend
//   ("pid@epoch.usec:event args") and ftrace's trace/trace_pipe columns ("comm-pid [cpu] flags ts: ").
// - All regexes are anchored with bounded repetition: linear time on any input.
import type { Clock, Stamp } from './types';

export type Layer =
  | 'syslog'
  | 'iso-syslog'
  | 'dmesg-iso'
  | 'kernel'
  | 'dmesg-facility'
  | 'dmesg'
  | 'dmesg-delta'
  | 'dmesg-ctime'
  | 'dmesg-human'
  | 'caller'
  | 'xen'
  | 'qemu-stderr'
  | 'qemu-log'
  | 'ftrace'
  | 'kmsg'
  | 'priority';

export interface Envelope extends Stamp {
  body: string;
  /** true when a timestamp/syslog/trace envelope was found (a wrapped continuation has none) */
  stamped: boolean;
  layers: Layer[];
  host: string | null;
  /** qemu-log: the trace event name; ftrace: the event name */
  event: string | null;
  /** ftrace task columns */
  task: { comm: string; pid: number; cpu: number } | null;
  /** qemu-log: the QEMU thread id before "@" */
  thread: number | null;
}

/** Per-file clock state: dmesg relative timestamps accumulate. */
export class ClockState {
  deltaSum = 0;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b(?:\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)?|[\x20-\x7e])/g;
// eslint-disable-next-line no-control-regex
const CTRL_RE = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Undoes transport damage on one physical line (see the header). */
export function cleanLine(line: string): string {
  let s = line;
  if (s.endsWith('\r')) s = s.slice(0, -1);
  if (s.includes('\x1b')) s = s.replace(ANSI_RE, '');
  if (s.includes('=3D')) s = s.replace(/=3D/g, '=');
  s = s.replace(CTRL_RE, (c) => (c === '\t' ? c : ''));
  const q = /^[ \t]{0,16}(?:>[ \t]?){1,16}/.exec(s);
  if (q) s = s.slice(q[0].length);
  const d = /^[ +-]#[ \t]?/.exec(s);
  if (d) s = s.slice(d[0].length);
  return s.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
}

function isoSeconds(text: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(
    text,
  );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let t = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!) / 1000;
  if (!Number.isFinite(t)) return null;
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const off =
      parseInt(digits.slice(0, 2), 10) * 3600 + (digits.length > 2 ? parseInt(digits.slice(2), 10) * 60 : 0);
    t -= sign * off;
  }
  return frac ? t + parseInt(frac, 10) / 10 ** frac.length : t;
}

function ctimeSeconds(text: string): number | null {
  const m = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})$/.exec(text);
  if (!m) return null;
  const mon = MONTHS.indexOf(m[1]!);
  if (mon < 0) return null;
  return Date.UTC(+m[6]!, mon, +m[2]!, +m[3]!, +m[4]!, +m[5]!) / 1000;
}

interface Candidate {
  time: number | null;
  clock: Clock;
  raw: string;
}
const PRIORITY: Record<Clock, number> = { boot: 6, delta: 5, trace: 4, epoch: 3, wall: 2, capture: 1 };

const RE = {
  qemuLog: /^(\d{1,10})@(\d{1,12}\.\d{1,9}):([A-Za-z_][\w]{0,79})(?:[ \t](.*))?$/,
  ftrace:
    /^(.{1,64}?)-(\d{1,10})[ \t]+(?:\([ \t]{0,10}[\d-]{1,10}\)[ \t]+)?\[(\d{1,4})\][ \t]+(?:([.a-zA-Z0-9]{4,5})[ \t]+)?(\d{1,10}\.\d{3,9}): ([\w]{1,64}): ?(.*)$/,
  qemuStderr: /^(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z) )?qemu-system-[\w-]{1,32}: /,
  syslog: /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d(?:\.\d{1,9})?) (\S{1,255}) kernel: ?/,
  isoSyslog:
    /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d(?::?\d\d)?)?) (?:(\S{1,255}) )?kernel: ?/,
  dmesgIso: /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[.,]\d{1,9}(?:Z|[+-]\d\d:?\d\d)) /,
  fullSyslog:
    /^[A-Z][a-z]{2} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?)(?: [A-Z]{2,5}| [+-]\d{4})? (\S{1,255}) kernel: ?/,
  unixSyslog: /^(\d{9,11}\.\d{1,9}) (\S{1,255}) kernel: ?/,
  kmsg: /^\d{1,3},\d{1,20},(\d{1,20}),[^;]{0,16};/,
  pri: /^<\d{1,3}>/,
  kernel: /^(?:(\S{1,255}) )?kernel: ?/,
  facility:
    /^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])[ \t]{0,8}:(?:emerg|alert|crit|err|warn|notice|info|debug)[ \t]{0,8}: ?/,
  dmesg: /^\[[ \t]{0,12}(\d{1,10}\.\d{1,9})(?:[ \t]{0,8}<[ \t]{0,12}\d{1,10}\.\d{1,9}>)?\] ?/,
  delta: /^\[[ \t]{0,12}\+(\d{1,10}\.\d{1,9})\] ?/,
  ctime: /^\[([A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\] ?/,
  human: /^\[([A-Z][a-z]{2} ?\d{1,2} \d\d:\d\d)\] ?/,
  caller: /^\[[ \t]{0,8}([TC]\d{1,7})\] ?/,
  xen: /^(?:\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] )?\(XEN\) ?/,
};

/** Strips the envelope layers of one cleaned line (see the header). */
export function parseEnvelope(text: string, clock: ClockState = new ClockState()): Envelope {
  let body = text;
  const layers: Layer[] = [];
  const stamps: Candidate[] = [];
  let host: string | null = null;
  let event: string | null = null;
  let task: Envelope['task'] = null;
  let thread: number | null = null;

  const q = RE.qemuLog.exec(body);
  if (q) {
    event = q[3]!;
    thread = parseInt(q[1]!, 10);
    return finish(q[4] ?? '', ['qemu-log'], [{ time: parseFloat(q[2]!), clock: 'epoch', raw: q[2]! }]);
  }
  const f = RE.ftrace.exec(body);
  if (f) {
    event = f[6]!;
    task = { comm: f[1]!.trim(), pid: parseInt(f[2]!, 10), cpu: parseInt(f[3]!, 10) };
    return finish(
      `${f[6]!}: ${f[7]!}`,
      ['ftrace'],
      [{ time: parseFloat(f[5]!), clock: 'trace', raw: f[5]! }],
    );
  }

  for (let i = 0; i < 8; i++) {
    let m: RegExpExecArray | null;
    if ((m = RE.qemuStderr.exec(body))) {
      layers.push('qemu-stderr');
      if (m[1]) stamps.push({ time: isoSeconds(m[1]), clock: 'wall', raw: m[1] });
    } else if ((m = RE.syslog.exec(body))) {
      layers.push('syslog');
      host = m[4]!;
      stamps.push({ time: null, clock: 'wall', raw: `${m[1]} ${m[2]} ${m[3]}` });
    } else if ((m = RE.isoSyslog.exec(body))) {
      layers.push('iso-syslog');
      host = m[2] ?? host;
      stamps.push({ time: isoSeconds(m[1]!), clock: 'wall', raw: m[1]! });
    } else if ((m = RE.fullSyslog.exec(body))) {
      layers.push('iso-syslog');
      host = m[2]!;
      stamps.push({ time: isoSeconds(m[1]!), clock: 'wall', raw: m[1]! });
    } else if ((m = RE.unixSyslog.exec(body))) {
      layers.push('iso-syslog');
      host = m[2]!;
      stamps.push({ time: parseFloat(m[1]!), clock: 'wall', raw: m[1]! });
    } else if ((m = RE.kmsg.exec(body))) {
      layers.push('kmsg');
      stamps.push({ time: parseInt(m[1]!, 10) / 1e6, clock: 'boot', raw: m[1]! });
    } else if ((m = RE.pri.exec(body))) {
      layers.push('priority');
    } else if ((m = RE.dmesgIso.exec(body))) {
      layers.push('dmesg-iso');
      stamps.push({ time: isoSeconds(m[1]!), clock: 'wall', raw: m[1]! });
    } else if ((m = RE.facility.exec(body))) {
      layers.push('dmesg-facility');
    } else if ((m = RE.dmesg.exec(body))) {
      layers.push('dmesg');
      stamps.push({ time: parseFloat(m[1]!), clock: 'boot', raw: m[1]! });
    } else if ((m = RE.delta.exec(body))) {
      layers.push('dmesg-delta');
      clock.deltaSum += parseFloat(m[1]!);
      stamps.push({ time: Math.round(clock.deltaSum * 1e6) / 1e6, clock: 'delta', raw: `+${m[1]!}` });
    } else if ((m = RE.ctime.exec(body))) {
      layers.push('dmesg-ctime');
      stamps.push({ time: ctimeSeconds(m[1]!), clock: 'wall', raw: m[1]! });
    } else if ((m = RE.human.exec(body))) {
      layers.push('dmesg-human');
      stamps.push({ time: null, clock: 'wall', raw: m[1]! });
    } else if ((m = RE.caller.exec(body))) {
      layers.push('caller');
    } else if ((m = RE.xen.exec(body))) {
      layers.push('xen');
      if (m[1]) stamps.push({ time: isoSeconds(m[1]), clock: 'wall', raw: m[1] });
    } else if (layers.length > 0 && (m = RE.kernel.exec(body))) {
      // "kernel: " only after another layer, or alone at the start of the line
      layers.push('kernel');
      host = m[1] ?? host;
    } else if (layers.length === 0 && (m = /^kernel: ?/.exec(body))) {
      layers.push('kernel');
    } else break;
    body = body.slice(m[0].length);
  }
  return finish(body, layers, stamps);

  function finish(b: string, ls: Layer[], cands: Candidate[]): Envelope {
    let best: Candidate | null = null;
    for (const c of cands) {
      if (best === null) best = c;
      else if (c.time !== null && (best.time === null || PRIORITY[c.clock] > PRIORITY[best.clock])) best = c;
    }
    return {
      body: b,
      stamped: ls.length > 0,
      layers: ls,
      host,
      event,
      task,
      thread,
      time: best?.time ?? null,
      clock: best?.clock ?? null,
      timeRaw: best?.raw ?? null,
    };
  }
}

/** The device prefix dev_printk() adds ("vfio-pci 0000:04:00.1: ", "arm-smmu-v3 arm-smmu-v3.5.auto: "). */
export const DEV_PREFIX = /^([\w.-]{1,64}) ([\w.:/@-]{1,96}): /;
