// The fault report as one self-contained HTML page: inline CSS and SVG (svg-charts.ts), no script, no
// font, image or link to fetch, and a Content-Security-Policy that forbids any load, so it opens the
// same offline, attached to a bug, or printed to PDF. Sections: run identity and how to reproduce it,
// summary, what to fix, the comparison (what-if / diff, when given), charts, one section per fault
// cluster (dmesg line, hint, page walk at the first fault), devices with their address-space strips,
// groups, PASIDs, hazards, rejected control events, bad lines, firmware findings. Pure.
import type { ReportDiff } from './diff';
import type { Report, ReportCluster, ReportWalk } from './report-schema';
import { addressStripSvg, esc, faultsPerDeviceSvg, TEAM_COLORS, timeText, timelineSvg } from './svg-charts';

export interface HtmlOptions {
  /** a comparison to show (what-if: original → edited) */
  diff?: ReportDiff;
  /** laid out for printing (PDF): no fixed widths wider than A4 */
  print?: boolean;
}

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111;margin:0;padding:24px 32px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px}
.sub{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid #e5e7eb;padding:3px 6px;text-align:left;vertical-align:top;font-size:12.5px}
th{background:#f9fafb;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
pre{background:#f3f4f6;padding:6px 8px;white-space:pre-wrap;word-break:break-all;margin:6px 0}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:6px 12px;min-width:110px}
.card b{display:block;font-size:20px}
.card span{color:#555;font-size:12px}
.cluster{border:1px solid #e5e7eb;border-left:6px solid #999;border-radius:4px;padding:10px 12px;margin:10px 0;break-inside:avoid}
.hint{padding:6px 8px;border-radius:4px;background:#fff7ed;margin:6px 0}
.team{display:inline-block;color:#fff;border-radius:3px;padding:0 6px;font-size:11px;margin-right:6px}
.ok{color:#15803d}.bad{color:#b91c1c}
svg{max-width:100%;height:auto;display:block;margin:6px 0}
.strip{margin:8px 0 14px}
footer{margin-top:30px;color:#555;font-size:12px}
@media print{body{padding:0;max-width:none}h2{break-after:avoid}.cluster,table,svg{break-inside:avoid}}
@page{size:A4;margin:14mm 12mm}
`;

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

const team = (t: string): string =>
  `<span class="team" style="background:${TEAM_COLORS[t] ?? '#444'}">${esc(t)}</span>`;

function fieldText(k: string, v: number | boolean): string {
  if (typeof v === 'boolean') return v ? k : '';
  return `${k}=${v > 9 ? `0x${v.toString(16)}` : v}`;
}

function walkHtml(w: ReportWalk | null): string {
  if (!w) return '<p>No page walk (no IOMMU unit translates this requester).</p>';
  const rows = w.steps.map((s) => [
    esc(s.structure),
    s.level ? String(s.level) : '',
    `<span class="mono">${esc(s.entryAddr)}</span>`,
    `<span class="mono">${esc(s.raw)}</span>`,
    esc(
      Object.entries(s.fields)
        .map(([k, v]) => fieldText(k, v))
        .filter(Boolean)
        .join(' '),
    ),
  ]);
  const o = w.outcome;
  const outcome =
    o.status === 'translated'
      ? `translated to <span class="mono">${esc(o.address ?? '')}</span>`
      : o.status === 'fault'
        ? `fault ${hex2(o.reason ?? 0)} at the ${esc(o.stage)} stage`
        : 'an interrupt request';
  return (
    `<p>Page walk on unit <b>${esc(w.unit)}</b>, tables as they were at the first fault: ${outcome}.</p>` +
    table(['structure', 'level', 'entry address', 'raw entry', 'fields'], rows)
  );
}

function clusterHtml(c: ReportCluster, n: number): string {
  const rec = Object.entries(c.recording)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const facts = table(
    ['first', 'last', 'count', 'pages', 'window', 'access', 'stage', 'classes', 'recording'],
    [
      [
        esc(timeText(c.time.first)),
        esc(timeText(c.time.last)),
        String(c.count),
        `<span class="mono">${esc(c.pages.lowest)}–${esc(c.pages.highest)}</span> (${c.pages.distinct})`,
        `<span class="mono">${esc(c.range.start)}–${esc(c.range.end)}</span>`,
        esc(c.access),
        esc(c.stage),
        esc(c.classes.join(', ') || '-'),
        esc(rec),
      ],
    ],
  );
  return (
    `<section class="cluster" id="c${n}" style="border-left-color:${TEAM_COLORS[c.hint.team] ?? '#999'}">` +
    `<h3>${n}. ${esc(c.bdf)} ${esc(c.deviceName ?? '(unknown requester)')}${c.pasid === null ? '' : ` PASID ${c.pasid}`} — ` +
    `${hex2(c.reason)} ${esc(c.reasonText)}</h3>` +
    `<div class="hint">${team(c.hint.team)}<b>${esc(c.hint.title)}</b>: ${esc(c.hint.detail)}</div>` +
    facts +
    `<pre>${esc(c.first.dmesg)}</pre>` +
    walkHtml(c.walk) +
    `</section>`
  );
}

const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command line that reproduces the report. */
export function reproduceCommand(r: Report): string {
  const o = r.run.options;
  const common = [
    q(r.run.trace.name),
    '--platform',
    q(r.run.platform.name),
    '--profile',
    o.profile,
    '--iotlb',
    o.iotlb,
  ];
  if (!o.edits.length) return ['iommu-lab', 'replay', ...common, '--report', 'report.html'].join(' ');
  const edits = o.edits.flatMap((e) =>
    e.startsWith('patch ') ? ['--patch', q(e.slice(6).replace(/ \(sha256 .*\)$/, ''))] : ['--set', q(e)],
  );
  return ['iommu-lab', 'what-if', ...common, ...edits, '--report', 'report.html'].join(' ');
}

function diffHtml(d: ReportDiff): string {
  const ref = (c: ReportDiff['new'][number]): string =>
    `${esc(c.bdf)} ${hex2(c.reason)} ${esc(c.reasonText)} <span class="mono">${esc(c.range.start)}–${esc(c.range.end)}</span>: ${c.count} fault${c.count === 1 ? '' : 's'} (${esc(c.hintTitle)})`;
  const list = (title: string, cls: string, items: string[]): string =>
    items.length
      ? `<p><b class="${cls}">${esc(title)}</b></p><ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>`
      : '';
  return (
    `<h2>Compared with the original</h2>` +
    `<p>Edits: ${esc(d.b.edits.join('; ') || 'none')}. Original: ${d.a.faults} faults in ${d.a.clusters} clusters; ` +
    `with the edits: ${d.b.faults} faults in ${d.b.clusters} clusters.</p>` +
    `<div class="cards">${card(d.counts.fixed, 'fixed')}${card(d.counts.new, 'new')}${card(d.counts.changed, 'changed')}${card(d.counts.unchanged, 'unchanged')}</div>` +
    list('Fixed', 'ok', d.fixed.map(ref)) +
    list('New', 'bad', d.new.map(ref)) +
    list(
      'Changed',
      '',
      d.changed.map((c) => `${ref(c.b)}: ${esc(c.changes.join('; '))}`),
    )
  );
}

const card = (value: number | string, label: string): string =>
  `<div class="card"><b>${esc(String(value))}</b><span>${esc(label)}</span></div>`;

export function reportHtml(r: Report, opts: HtmlOptions = {}): string {
  const s = r.summary;
  const width = opts.print ? 700 : 900;
  const parts: string[] = [];
  parts.push(
    `<h1>IOMMU fault report: ${esc(r.run.platform.title)}</h1>`,
    `<p class="sub">${s.faults} DMA faults in ${s.clusters} clusters on ${s.devicesWithFaults} requesters, ${s.hazards} hazards — ` +
      `IOMMU Lab ${esc(r.run.labVersion)}, ${esc(r.format)} v${r.reportVersion}</p>`,
  );
  const o = r.run.options;
  parts.push(
    '<h2>Run</h2>',
    table(
      ['input', 'file', 'SHA-256', 'bytes'],
      [
        [
          'trace',
          esc(r.run.trace.name),
          `<span class="mono">${r.run.trace.sha256}</span>`,
          String(r.run.trace.bytes),
        ],
        [
          'platform',
          esc(r.run.platform.name),
          `<span class="mono">${r.run.platform.sha256}</span>`,
          String(r.run.platform.bytes),
        ],
      ],
      [3],
    ),
    `<p>Profile <b>${esc(o.profile)}</b>, IOTLB <b>${esc(o.iotlb)}</b>, fault interrupt latency ${esc(timeText(o.faultIrqLatencyNs))}` +
      `${o.edits.length ? `, what-if edits: <b>${esc(o.edits.join('; '))}</b>` : ''}.</p>`,
    `<p>Reproduce: <code>${esc(reproduceCommand(r))}</code></p>`,
  );
  const fw = s.firmware;
  parts.push(
    '<h2>Summary</h2>',
    `<div class="cards">${card(s.faults, 'faults')}${card(s.clusters, 'clusters')}${card(s.hazards, 'hazards')}` +
      `${card(s.tlps, 'DMA requests')}${card(s.events, 'events')}${card(s.rejectedControl, 'rejected control')}` +
      `${card(s.badLines, 'bad lines')}${fw ? card(`${fw.error}/${fw.warning}/${fw.info}`, 'firmware e/w/i') : ''}` +
      `${card(s.exitCode, 'exit code')}</div>`,
  );
  if (r.clusters.length) {
    const sorted = [...r.clusters.entries()].sort((a, b) => b[1].count - a[1].count || a[0] - b[0]);
    parts.push(
      '<h2>What to fix</h2><ul>',
      ...sorted.map(
        ([i, c]) =>
          `<li>${team(c.hint.team)}<a href="#c${i + 1}"><b>${esc(c.hint.title)}</b></a>: ${esc(c.bdf)} ${esc(c.deviceName ?? '(unknown requester)')}, ${c.count} fault${c.count === 1 ? '' : 's'} at <span class="mono">${esc(c.pages.lowest)}</span></li>`,
      ),
      '</ul>',
    );
  } else parts.push('<p class="ok"><b>No DMA faults.</b></p>');
  if (opts.diff) parts.push(diffHtml(opts.diff));
  parts.push(
    '<h2>Fault timeline</h2>',
    timelineSvg(r, width),
    '<h2>Faults per device</h2>',
    faultsPerDeviceSvg(r, width),
  );
  if (r.clusters.length)
    parts.push('<h2>Fault clusters</h2>', ...r.clusters.map((c, i) => clusterHtml(c, i + 1)));

  parts.push('<h2>Devices</h2>');
  for (const d of r.devices.filter((x) => x.clusters.length)) {
    parts.push(
      `<div class="strip"><h3>${esc(d.bdf)} ${esc(d.name)}: ${esc(d.domainType)} domain, ${d.mappingsTotal} mappings</h3>` +
        addressStripSvg(
          d,
          r.clusters.filter((c) => c.bdf === d.bdf),
          width,
        ) +
        '</div>',
    );
  }
  parts.push(
    table(
      ['device', 'name', 'class', 'group', 'domain', 'driver', 'DMA', 'faults', 'reserved regions'],
      r.devices.map((d) => [
        esc(d.bdf),
        esc(d.name),
        esc(d.classCode),
        String(d.group),
        esc(d.domainType),
        esc(d.driver ?? '-'),
        String(d.tlps),
        String(d.faults),
        esc(
          d.regions
            .filter((g) => g.type !== 'msi')
            .map((g) => `${g.start}–${g.end} ${g.type}`)
            .join('; ') || '-',
        ),
      ]),
      [6, 7],
    ),
    '<h2>IOMMU groups</h2>',
    table(
      ['group', 'members', 'domain', 'default', 'owner', 'PASIDs', 'faults'],
      r.groups.map((g) => [
        String(g.id),
        esc(g.members.join(', ')),
        esc(g.domainType),
        esc(g.defaultDomainType),
        esc(g.owner),
        esc(g.pasids.map((p) => `${p.pasid}:${p.domainType}`).join(', ') || '-'),
        String(g.faults),
      ]),
      [6],
    ),
  );
  parts.push('<h2>PASIDs</h2>');
  parts.push(
    r.pasids.length
      ? table(
          ['device', 'PASID', 'attached', 'DMA', 'faults'],
          r.pasids.map((p) => [
            esc(p.bdf),
            String(p.pasid),
            esc(p.attached ?? 'nothing'),
            String(p.tlps),
            String(p.faults),
          ]),
          [3, 4],
        )
      : '<p>No request used a PASID and none is attached.</p>',
  );
  if (r.hazards.length) {
    parts.push(
      '<h2>Hazards</h2>',
      table(
        ['time', 'device', 'access', 'address', 'unmapped by', 'age'],
        r.hazards.map((h) => [
          esc(timeText(h.time)),
          esc(h.bdf),
          esc(h.access),
          `<span class="mono">${esc(h.address)}</span>`,
          esc(h.unmapOrigin),
          esc(timeText(h.age)),
        ]),
      ),
    );
  }
  if (r.rejected.length)
    parts.push(
      '<h2>Rejected control events</h2>',
      table(
        ['origin', 'op', 'errno', 'message'],
        r.rejected.map((x) => [esc(x.origin), esc(x.op), esc(x.errno), esc(x.message)]),
      ),
    );
  if (r.errors.length)
    parts.push(
      '<h2>Trace parts skipped</h2>',
      table(
        ['file', 'where', 'message'],
        r.errors.map((e) => [
          esc(e.file),
          'line' in e ? `line ${e.line}` : `offset ${e.offset} (${e.length} bytes)`,
          esc(e.message),
        ]),
      ),
    );
  if (r.firmware)
    parts.push(
      '<h2>Firmware findings</h2>',
      r.firmware.findings.length
        ? table(
            ['severity', 'code', 'where', 'message'],
            r.firmware.findings.map((f) => [
              esc(f.severity),
              esc(f.code),
              esc(
                [
                  f.file,
                  f.table,
                  f.line !== undefined ? `line ${f.line}` : '',
                  f.offset !== null ? `offset ${f.offset}` : '',
                ]
                  .filter(Boolean)
                  .join(' '),
              ),
              esc(f.message),
            ]),
          )
        : '<p>No findings.</p>',
    );
  parts.push(
    `<footer>IOMMU Lab ${esc(r.run.labVersion)} · trace SHA-256 <span class="mono">${r.run.trace.sha256}</span> · platform SHA-256 <span class="mono">${r.run.platform.sha256}</span></footer>`,
  );
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>IOMMU fault report: ${esc(r.run.platform.title)}</title><style>${CSS}</style></head><body>\n` +
    parts.join('\n') +
    '\n</body></html>\n'
  );
}
