// The session's details pane and address map, on a generated native trace (engine worker) and on the
// laptop sample (text trace, in-thread player): every fault's walk, made through the probe on the state
// at the fault's time, ends where its fault row says the hardware stopped (same reason and stage); the
// domain and the hint come with it; the map at the start of the trace differs from the map at its end
// (control events map and unmap between); native fault marks come from the page-range aggregates.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { genCommand } from '../src/cli/gen-command';
import { Session } from '../src/host/session';
import { ApiError } from '../src/shared/api';

const dir = mkdtempSync(join(tmpdir(), 'iommu-lab-session-details-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fault details and the address map in the session', () => {
  it.each([
    [
      'native',
      async () => {
        const path = join(dir, 'details.iotrace');
        await genCommand(
          { seed: 7, tlps: 20_000, faultRate: 0.01, controlEvents: 40, output: path },
          () => undefined,
        );
        return path;
      },
    ] as const,
    ['text', async () => join(__dirname, '../traces/laptop-demo.trace.jsonl')] as const,
  ])(
    'a %s trace: each fault walk ends at its row’s reason and stage',
    async (kind, make) => {
      const path = await make();
      const s = new Session('web', () => undefined);
      try {
        await s.openPath(path);
        await s.handlers.replayControl({ action: 'seek', time: Number.MAX_SAFE_INTEGER });
        const table = await s.handlers.queryFaults({ offset: 0, limit: 10_000 });
        // the fault table may list hazards too: the details are those of faults, by fault index
        const rows = table.rows.filter((r) => r.kind !== 'hazard');
        const total = rows.length;
        expect(total).toBeGreaterThan(kind === 'native' ? 10 : 4);
        // a spread of faults: every distinct reason's first, and a few more
        const picked = rows.filter(
          (r, i) => i % 23 === 0 || rows.findIndex((x) => x.reason === r.reason) === i,
        );
        for (const row of picked.slice(0, 25)) {
          const d = await s.handlers.faultDetails({ index: row.index });
          expect(d).toMatchObject({
            index: row.index,
            time: row.time,
            request: { bdf: row.bdf, pasid: row.pasid, access: row.access, address: row.address },
            reason: row.reason,
            dmesg: row.dmesg,
          });
          if (row.reason > 0xff) {
            // TEE-IO: the translation succeeded, the T-bit check refused it
            expect(d.walk.status).toBe('translated');
          } else {
            expect({ reason: d.walk.reason, stage: d.walk.stage }).toEqual({
              reason: row.reason,
              stage: row.stage,
            });
            expect(d.walk.levels.length).toBeGreaterThan(0);
          }
          expect(d.hint.rule).not.toBe('');
          expect(d.hint.text.length).toBeGreaterThan(10);
          expect(typeof d.domain.type).toBe('string');
        }
        const bad = await Promise.resolve()
          .then(() => s.handlers.faultDetails({ index: total + 5 }))
          .catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(ApiError);
        expect(bad).toMatchObject({ code: 'EINVAL' });

        // the map of the first faulting device at the start and at the end
        const bdf = rows[0]!.bdf;
        const end = await s.handlers.addressSpace({ bdf });
        const start = await s.handlers.addressSpace({ bdf, time: 0 });
        expect(end.bdf).toBe(bdf);
        expect(JSON.stringify(start.ranges)).not.toBe(JSON.stringify(end.ranges));
        const marked = end.faultMarks.reduce((n, m) => n + m.count, 0);
        expect(marked).toBe(rows.filter((r) => r.bdf === bdf).length);
        expect(end.faultSource).toBe(kind === 'native' ? 'ranges' : 'faults');
        expect(start.faultMarks).toEqual([]);
        // the walk call, on the shown state
        const w = await s.handlers.walk({ bdf, address: rows[0]!.address, access: rows[0]!.access });
        expect(w.levels.length).toBeGreaterThan(0);
      } finally {
        s.dispose();
      }
    },
    60_000,
  );
});
