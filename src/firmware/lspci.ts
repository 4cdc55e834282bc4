// Reader for lspci text: `lspci -vvv` (with or without -nn, -D), plain `lspci`, and the tree of
// `lspci -tv`, as pciutils prints them (lspci.c show_terse/show_verbose, ls-caps.c cap_express,
// ls-ecaps.c cap_acs/cap_ats/cap_pri/cap_pasid, ls-tree.c). Per function it keeps what the IOMMU model
// needs: address, class code (from "[cccc]" or, without -nn, from the class name), vendor:device ids,
// the bridge's secondary/subordinate buses ("Bus: primary=00, secondary=04, subordinate=04"), the PCI
// Express device/port type, ACS capability and control bits (ACSCap/ACSCtl: SrcValid TransBlk ReqRedir
// CmpltRedir UpstreamFwd EgressCtrl DirectTrans = bits 0-6), PASID width (printed in hex, "%02x"), ATS,
// PRI, SR-IOV, and the "IOMMU group: N" line newer lspci prints (kept for comparison only). Functions
// in a slot with several functions are multifunction (lspci does not print the header type).
// "Capabilities: <access denied>" (lspci run without root) is noted per function. Pure.
import { finding, type Finding } from './findings';
import { classCodeFromName } from './pci-class-names';
import { bdfText, type PciFunctionInfo } from './pci-topology';

export type ExpressType =
  | 'endpoint'
  | 'legacy-endpoint'
  | 'root-port'
  | 'upstream-port'
  | 'downstream-port'
  | 'pcie-to-pci-bridge'
  | 'pci-to-pcie-bridge'
  | 'rciep'
  | 'rcec'
  | 'unknown';

export interface LspciFunction extends PciFunctionInfo {
  /** 1-based line of the function's first line */
  line: number;
  /** "Vendor Device" as lspci printed it */
  name: string;
  className: string | null;
  vendorId: number | null;
  deviceId: number | null;
  /** the PCI Express capability's device/port type; null when the function has none (conventional) */
  express: ExpressType | null;
  /** false when lspci could not read the capabilities (not root), or printed none (-tv, plain) */
  capabilitiesKnown: boolean;
  /** ACS capability and control registers; bits unknown (no -vv) are read as 0 */
  acs: { cap: number; ctrl: number } | null;
  pasidWidth: number;
  ats: boolean;
  pri: boolean;
  sriov: boolean;
  /** "IOMMU group: N" when lspci printed it (a live system with the IOMMU on) */
  iommuGroup: number | null;
  driver: string | null;
  /** another function shares its slot (lspci does not print the header type's multifunction bit) */
  multifunction: boolean;
}

export interface LspciResult {
  form: 'verbose' | 'plain' | 'tree';
  functions: LspciFunction[];
  findings: Finding[];
}

const HEADER = /^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])\s+(.*)$/;
const TREE_START = /^\s*[-+\\|]*[-+]\[[0-9a-fA-F]{4}:[0-9a-fA-F]{2}\]-/;

export function looksLikeLspci(text: string): boolean {
  return (
    /^(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7] \S/m.test(text) || looksLikeLspciTree(text)
  );
}

export function looksLikeLspciTree(text: string): boolean {
  return (
    TREE_START.test(text.split(/\r?\n/, 1)[0] ?? '') ||
    /^-(?:\+-)?\[[0-9a-fA-F]{4}:[0-9a-fA-F]{2}\]-/m.test(text)
  );
}

const EXPRESS_TYPES: [RegExp, ExpressType][] = [
  [/^Legacy Endpoint/, 'legacy-endpoint'],
  [/^Endpoint/, 'endpoint'],
  [/^Root Port/, 'root-port'],
  [/^Upstream Port/, 'upstream-port'],
  [/^Downstream Port/, 'downstream-port'],
  [/^PCI-Express to PCI\/PCI-X Bridge/, 'pcie-to-pci-bridge'],
  [/^PCI\/PCI-X to PCI-Express Bridge/, 'pci-to-pcie-bridge'],
  [/^PCI\/PCI-X Bridge/, 'pcie-to-pci-bridge'], // pciutils before 3.x printed PCI_EXP_TYPE_PCI_BRIDGE so
  [/^Root Complex Integrated Endpoint/, 'rciep'],
  [/^Root Complex Event Collector/, 'rcec'],
];

/** ACSCap/ACSCtl flag names in bit order (PCI_ACS_SV … PCI_ACS_DT). */
const ACS_FLAG_NAMES = [
  'SrcValid',
  'TransBlk',
  'ReqRedir',
  'CmpltRedir',
  'UpstreamFwd',
  'EgressCtrl',
  'DirectTrans',
];

function acsBits(text: string): number {
  let v = 0;
  ACS_FLAG_NAMES.forEach((n, i) => {
    if (new RegExp(`\\b${n}\\+`).test(text)) v |= 1 << i;
  });
  return v;
}

/** Splits "Class name [cccc]: Vendor Device [vvvv:dddd] (rev 01) (prog-if 30 [XHCI])". */
function parseHeaderRest(rest: string): {
  className: string | null;
  cls16: number | null;
  progIf: number;
  name: string;
  vendorId: number | null;
  deviceId: number | null;
} {
  let progIf = 0;
  let s = rest.trim();
  const pi = /\s*\(prog-if ([0-9a-fA-F]{2})(?: \[[^\]]*\])?\)\s*$/.exec(s);
  if (pi) {
    progIf = parseInt(pi[1]!, 16);
    s = s.slice(0, pi.index);
  }
  const rev = /\s*\(rev [0-9a-fA-F]{2}\)\s*$/.exec(s);
  if (rev) s = s.slice(0, rev.index);
  const colon = s.indexOf(': ');
  const classPart = colon >= 0 ? s.slice(0, colon) : s;
  let devPart = colon >= 0 ? s.slice(colon + 2) : '';
  let cls16: number | null;
  let className: string | null = classPart;
  const bracket = /^(.*?)\s*\[([0-9a-fA-F]{4})\]$/.exec(classPart);
  if (bracket) {
    className = bracket[1]! || null;
    cls16 = parseInt(bracket[2]!, 16);
  } else if (/^[0-9a-fA-F]{4}$/.test(classPart)) {
    className = null;
    cls16 = parseInt(classPart, 16);
  } else cls16 = classCodeFromName(classPart);
  let vendorId: number | null = null;
  let deviceId: number | null = null;
  const ids = /\s*\[?([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]?$/.exec(devPart);
  if (ids && (ids[0]!.includes('[') || /^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/.test(devPart.trim()))) {
    vendorId = parseInt(ids[1]!, 16);
    deviceId = parseInt(ids[2]!, 16);
    devPart = devPart.slice(0, ids.index);
  }
  return { className, cls16, progIf, name: devPart.trim(), vendorId, deviceId };
}

function emptyFunction(segment: number, bus: number, dev: number, fn: number, line: number): LspciFunction {
  return {
    segment,
    bus,
    dev,
    fn,
    bdf: bdfText(segment, bus, dev, fn),
    isBridge: false,
    secondary: null,
    subordinate: null,
    classCode: null,
    line,
    name: '',
    className: null,
    vendorId: null,
    deviceId: null,
    express: null,
    capabilitiesKnown: false,
    acs: null,
    pasidWidth: 0,
    ats: false,
    pri: false,
    sriov: false,
    iommuGroup: null,
    driver: null,
    multifunction: false,
  };
}

/** Reads lspci output: the verbose or plain listing, or the -tv tree. */
export function readLspci(text: string, file?: string): LspciResult {
  if (looksLikeLspciTree(text) && !/^(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7] /m.test(text))
    return readLspciTree(text, file);
  const findings: Finding[] = [];
  const lines = text.split(/\r?\n/);
  const functions: LspciFunction[] = [];
  let cur: LspciFunction | null = null;
  let inCap: string | null = null;
  let verbose = false;
  let acsWithoutBits = false;
  const seen = new Map<string, number>();
  const denied = new Set<string>();
  const withDetail = new Set<string>();
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.length > 4096) return; // no lspci line is this long; keeps the regexes linear
    const l = raw.trimEnd();
    const h = /^\S/.test(l) ? HEADER.exec(l) : null;
    if (h) {
      const segment = h[1] ? parseInt(h[1], 16) : 0;
      const f = emptyFunction(segment, parseInt(h[2]!, 16), parseInt(h[3]!, 16), parseInt(h[4]!, 10), lineNo);
      if (f.dev > 0x1f) {
        findings.push(
          finding('error', 'lspci-bad-address', `"${l}": device number above 1f; line skipped`, {
            file,
            line: lineNo,
          }),
        );
        cur = null;
        return;
      }
      const p = parseHeaderRest(h[5]!);
      f.className = p.className;
      f.classCode = p.cls16 === null ? null : (p.cls16 << 8) | p.progIf;
      f.name = p.name;
      f.vendorId = p.vendorId;
      f.deviceId = p.deviceId;
      if (p.cls16 === null)
        findings.push(
          finding(
            'info',
            'lspci-class-unknown',
            `${f.bdf}: class "${p.className ?? ''}" is not a known PCI class name; run lspci -nn to print class codes`,
            {
              file,
              line: lineNo,
            },
          ),
        );
      const prev = seen.get(f.bdf);
      if (prev !== undefined) {
        findings.push(
          finding(
            'error',
            'lspci-duplicate',
            `${f.bdf} is listed twice (first at line ${prev}); the later entry is used`,
            { file, line: lineNo },
          ),
        );
        const idx = functions.findIndex((x) => x.bdf === f.bdf);
        functions.splice(idx, 1);
      }
      seen.set(f.bdf, lineNo);
      functions.push(f);
      cur = f;
      inCap = null;
      return;
    }
    if (!cur || l.trim() === '') {
      if (l.trim() === '') inCap = null;
      return;
    }
    const t = l.trim();
    verbose = true;
    withDetail.add(cur.bdf);
    let m: RegExpExecArray | null;
    if (
      (m = /^Bus: primary=([0-9a-fA-F]{2}), secondary=([0-9a-fA-F]{2}), subordinate=([0-9a-fA-F]{2})/.exec(t))
    ) {
      cur.isBridge = true;
      cur.secondary = parseInt(m[2]!, 16);
      cur.subordinate = parseInt(m[3]!, 16);
      return;
    }
    if (/^Capabilities: <access denied>/.test(t)) {
      denied.add(cur.bdf);
      return;
    }
    if ((m = /^Capabilities: \[([0-9a-fA-F]+)(?: v\d+)?\] (.*)$/.exec(t))) {
      const what = m[2]!;
      inCap = what;
      const ex = /^Express (?:\(v\d+\) )?(.*?)(?:, (?:MSI|IntMsgNum) [0-9a-fA-F]+)?$/.exec(what);
      if (ex) {
        cur.express = EXPRESS_TYPES.find(([re]) => re.test(ex[1]!))?.[1] ?? 'unknown';
        if (cur.express === 'unknown')
          findings.push(
            finding(
              'info',
              'lspci-express-type',
              `${cur.bdf}: PCI Express type "${ex[1]}" is not one lspci defines`,
              { file, line: lineNo },
            ),
          );
      } else if (/^Access Control Services/.test(what)) {
        cur.acs = { cap: 0, ctrl: 0 };
        acsWithoutBits = true;
      } else if (/^Address Translation Service/.test(what)) cur.ats = true;
      else if (/^Page Request Interface/.test(what)) cur.pri = true;
      else if (/^Single Root I\/O Virtualization/.test(what)) cur.sriov = true;
      return;
    }
    if (inCap && /^Access Control Services/.test(inCap)) {
      if ((m = /^ACSCap:\s*(.*)$/.exec(t)) && cur.acs) {
        cur.acs.cap = acsBits(m[1]!);
        acsWithoutBits = false;
        return;
      }
      if ((m = /^ACSCtl:\s*(.*)$/.exec(t)) && cur.acs) {
        cur.acs.ctrl = acsBits(m[1]!);
        return;
      }
    }
    if (inCap && /^Process Address Space ID/.test(inCap) && (m = /Max PASID Width: ([0-9a-fA-F]+)/.exec(t))) {
      cur.pasidWidth = parseInt(m[1]!, 16);
      return;
    }
    if ((m = /^IOMMU group: (\d+)$/.exec(t))) {
      cur.iommuGroup = parseInt(m[1]!, 10);
      return;
    }
    if ((m = /^Kernel driver in use: (\S+)/.exec(t))) cur.driver = m[1]!;
  });
  // a verbose listing prints every capability lspci can read: a function with detail lines and no
  // "<access denied>" has exactly the capabilities shown (none when its status says Cap-)
  for (const f of functions) f.capabilitiesKnown = withDetail.has(f.bdf) && !denied.has(f.bdf);
  for (const f of functions) {
    if (
      f.classCode !== null &&
      !f.isBridge &&
      (f.classCode >> 8 === 0x0604 || f.classCode >> 8 === 0x0609) &&
      verbose
    )
      findings.push(
        finding(
          'info',
          'lspci-bridge-without-bus',
          `${f.bdf} is a PCI bridge but lspci printed no "Bus: primary=…" line; its buses are unknown`,
          {
            file,
            line: f.line,
          },
        ),
      );
  }
  if (acsWithoutBits)
    findings.push(
      finding(
        'info',
        'lspci-acs-bits-missing',
        'lspci shows Access Control Services without its ACSCap/ACSCtl lines (lspci -v instead of -vv); the ACS bits are read as 0, so groups may be larger than the kernel makes them. Run lspci -vvv as root',
        { file },
      ),
    );
  if (denied.size > 0)
    findings.push(
      finding(
        'info',
        'lspci-capabilities-hidden',
        'lspci printed "Capabilities: <access denied>": it ran without root, so PCI Express port types, ACS, ATS, PASID and PRI are unknown. Port types are guessed from the topology and ACS is taken as absent, so groups can be larger than the kernel makes them. Run sudo lspci -vvv',
        { file },
      ),
    );
  markMultifunction(functions);
  return { form: verbose ? 'verbose' : 'plain', functions, findings };
}

function markMultifunction(functions: LspciFunction[]): void {
  const slots = new Map<string, LspciFunction[]>();
  for (const f of functions) {
    const k = `${f.segment}:${f.bus}:${f.dev}`;
    slots.set(k, [...(slots.get(k) ?? []), f]);
  }
  for (const fs of slots.values()) if (fs.length > 1) for (const f of fs) f.multifunction = true;
}

/**
 * Reads `lspci -t[v]` (ls-tree.c): "-[0000:00]-+-00.0  Name", bridges as "-1c.0-[08]----00.0",
 * several root buses as "+-[0000:80]-…". A bus's functions start at the column after its connector,
 * so each function's bus is the one whose column it starts in.
 */
export function readLspciTree(text: string, file?: string): LspciResult {
  const findings: Finding[] = [];
  const functions: LspciFunction[] = [];
  const busAt = new Map<number, { segment: number; bus: number }>();
  const lines = text.split(/\r?\n/);
  lines.forEach((l, i) => {
    const lineNo = i + 1;
    let p = 0;
    while (p < l.length) {
      const c = l[p]!;
      if (c === ' ' || c === '|' || c === '+' || c === '-' || c === '\\') {
        p++;
        continue;
      }
      const rest = l.slice(p);
      let m = /^\[([0-9a-fA-F]{4,8}):([0-9a-fA-F]{2})\]-/.exec(rest);
      if (m) {
        const end = p + m[0].length;
        // the bus's devices follow its 2-character connector ("+-", "--" or "\-")
        busAt.set(end + 2, { segment: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16) });
        p = end;
        continue;
      }
      m = /^([0-9a-fA-F]{2})\.([0-7])(?:-\[([0-9a-fA-F]{2})(?:-([0-9a-fA-F]{2}))?\]-)?/.exec(rest);
      if (!m) break;
      const owner = busAt.get(p) ?? nearestLeft(busAt, p);
      if (!owner) {
        findings.push(
          finding('error', 'lspci-tree-unplaced', `cannot tell which bus "${m[0]}" is on; skipped`, {
            file,
            line: lineNo,
          }),
        );
        break;
      }
      const f = emptyFunction(owner.segment, owner.bus, parseInt(m[1]!, 16), parseInt(m[2]!, 10), lineNo);
      if (m[3] !== undefined) {
        f.isBridge = true;
        f.secondary = parseInt(m[3], 16);
        f.subordinate = m[4] !== undefined ? parseInt(m[4], 16) : f.secondary;
        const end = p + m[0].length;
        // show_tree_bridge adds one '-', then the bus connector: 3 characters before the devices
        busAt.set(end + 3, { segment: owner.segment, bus: f.secondary });
        functions.push(f);
        p = end;
        continue;
      }
      f.name = rest.slice(m[0].length).trim();
      const ids = /\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*$/.exec(f.name);
      if (ids) {
        f.vendorId = parseInt(ids[1]!, 16);
        f.deviceId = parseInt(ids[2]!, 16);
      }
      functions.push(f);
      break;
    }
  });
  for (const f of functions) if (f.isBridge) f.classCode = null;
  markMultifunction(functions);
  findings.push(
    finding(
      'info',
      'lspci-tree-only',
      'lspci -tv gives the hierarchy but no class codes or capabilities: port types are guessed, ACS is taken as absent and USB/graphics devices cannot be recognised. Give lspci -vvv output too',
      { file },
    ),
  );
  return { form: 'tree', functions, findings };
}

function nearestLeft(
  busAt: Map<number, { segment: number; bus: number }>,
  col: number,
): { segment: number; bus: number } | undefined {
  let best: number | null = null;
  for (const k of busAt.keys()) if (k <= col && (best === null || k > best)) best = k;
  return best === null ? undefined : busAt.get(best);
}

/**
 * Merges several lspci readings (e.g. -vvv and -tv) by function address: the verbose reading's
 * capabilities and classes win, the tree fills in bridges' buses when the verbose one lacks them.
 */
export function mergeLspci(results: LspciResult[]): LspciFunction[] {
  const byBdf = new Map<string, LspciFunction>();
  const rank = (r: LspciResult) => (r.form === 'verbose' ? 0 : r.form === 'plain' ? 1 : 2);
  for (const r of [...results].sort((a, b) => rank(a) - rank(b)))
    for (const f of r.functions) {
      const have = byBdf.get(f.bdf);
      if (!have) {
        byBdf.set(f.bdf, { ...f });
        continue;
      }
      if (!have.isBridge && f.isBridge) {
        have.isBridge = true;
        have.secondary = f.secondary;
        have.subordinate = f.subordinate;
      }
      if (have.vendorId === null) {
        have.vendorId = f.vendorId;
        have.deviceId = f.deviceId;
      }
      if (!have.name) have.name = f.name;
    }
  const out = [...byBdf.values()];
  markMultifunction(out);
  return out;
}
