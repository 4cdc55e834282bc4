// Renders a CrosscheckResult as the plain-text summary `iommu-lab crosscheck` prints without --json.
// Pure; one string, lines joined with "\n".
import type { CrosscheckResult, DisagreementJson } from './result';

const pct = (a: number, n: number): string => (n === 0 ? '–' : `${((100 * a) / n).toFixed(2)} %`);

function one(d: DisagreementJson, i: number): string[] {
  const r = d.request;
  const q =
    d.qemu.result === 'translated'
      ? `gpa ${d.qemu.gpa} (domain ${d.qemu.domain ?? '?'})`
      : `fault ${d.qemu.reason} ${d.qemu.reasonText}`;
  const l =
    d.lab.result === 'translated'
      ? `pa ${d.lab.pa} (domain ${d.lab.domain ?? '?'})`
      : d.lab.result === 'fault'
        ? `fault ${d.lab.reason} ${d.lab.reasonText} at ${d.lab.stage}`
        : 'interrupt request';
  const out = [
    `  ${i + 1}. ${r.kind} ${r.bdf} ${r.access} ${r.addr} (QEMU line ${r.line}, guest ${r.guestTime.toFixed(6)} s)`,
    `     QEMU: ${q}`,
    `     lab:  ${l}`,
  ];
  for (const g of d.guestEvents)
    out.push(
      `     guest line ${g.line} [${g.guestTime.toFixed(6)}] ${g.op} domain ${g.domain ?? '?'}: ${g.raw}`,
    );
  if (d.guestEvents.length === 0) out.push('     no guest map or unmap touches this page');
  return out;
}

export function renderText(r: CrosscheckResult): string {
  const u = r.platform.unit;
  const lines = [
    `crosscheck (profile ${r.profile}): ${r.guestLog.file} × ${r.qemuTrace.file}`,
    `platform: ${u.name} at ${u.base}, ${u.mode} mode (${u.modeEvidence}), ${u.pageTable} ${u.levels}-level tables, HAW ${u.haw}`,
  ];
  for (const d of r.platform.domains)
    lines.push(
      `  domain ${d.domain}: ${d.devices.join(' ')} (group ${d.groups.join(', ') || '?'}), ${d.maps} maps, ${d.unmaps} unmaps`,
    );
  const a = r.alignment;
  lines.push(
    `clock: host = guest + ${a.offset.toFixed(6)} s (${a.method}; ${a.markers.length} NVMe markers` +
      (a.vote ? `, ${a.vote.matched}/${a.vote.maps} maps followed by their invalidation` : '') +
      (a.bracket && a.bracket.lo !== null && a.bracket.hi !== null && a.bracket.lo <= a.bracket.hi
        ? `, translation bracket [${((a.bracket.lo - a.offset) * 1e3).toFixed(3)}, +${((a.bracket.hi - a.offset) * 1e3).toFixed(3)}] ms`
        : '') +
      ')',
  );
  const checked = r.agree + r.disagree;
  lines.push(
    `translations: ${r.agree}/${checked} agree (${pct(r.agree, checked)}), ${r.disagree} disagree` +
      (r.unchecked ? `, ${r.unchecked} unchecked` : ''),
  );
  const reasons = Object.entries(r.faults.observedByReason)
    .map(([k, n]) => `${k}: ${r.faults.byReason[k] ?? 0}/${n}`)
    .join(', ');
  lines.push(`faults: ${r.faults.reproduced}/${r.faults.observed} reproduced (${reasons || 'none'})`);
  lines.push(
    `fault records: QEMU recorded ${r.recorded.observed}, the model ${r.recorded.model} (${r.recorded.compressed} compressed, ` +
      `${r.recorded.overflowed} overflowed, ${r.recorded.fpdSuppressed} FPD); guest reports ${r.recorded.guestReports.same}/${r.recorded.guestReports.observed} as modelled`,
  );
  if (r.disagreements.length) {
    lines.push(`first ${r.disagreements.length} disagreement(s):`);
    r.disagreements.forEach((d, i) => lines.push(...one(d, i)));
  }
  for (const i of r.issues)
    lines.push(`${i.level}: ${i.source}${i.line !== null ? ` line ${i.line}` : ''}: ${i.message}`);
  if (!r.complete) lines.push('result is partial (see the errors above)');
  return lines.join('\n');
}
