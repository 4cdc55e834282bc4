// Control scripts end to end on the shipped sample platforms. Each script line carries the outcome
// the kernel gives ("expect"), written by hand from the rules the script's comments cite; the run
// must meet every one. Bad lines are reported with their line number and never stop later lines.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildLab } from './lab';
import { loadPlatform } from './platform/index';
import { runScript } from './run-script';
import { parseControlScript } from '../trace/control-script';

function labFor(name: string) {
  const r = loadPlatform(JSON.parse(readFileSync(`traces/platforms/${name}.platform.json`, 'utf8')));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return buildLab(r.value);
}

describe('sample scripts meet every expectation', () => {
  it.each([
    ['laptop-assign', 'laptop'],
    ['server-rmrr', 'server'],
    ['tee-io-tdisp', 'tee-io'],
  ])('%s on the %s platform', (script, platform) => {
    const run = runScript(
      labFor(platform),
      parseControlScript(readFileSync(`traces/scripts/${script}.script.jsonl`, 'utf8')),
    );
    expect(run.badLines).toBe(0);
    expect(run.mismatches).toEqual([]);
    expect(run.results.length).toBeGreaterThan(10);
  });
});

describe('bad input', () => {
  it('names the line of an unknown op, a missing field, a wrong type and a missing id, and goes on', () => {
    const script = [
      '{"op":"ioas_alloc"}',
      '{"op":"ioas_frobnicate"}',
      '# comment',
      '{"op":"ioas_map","ioas":1,"flags":["READABLE"],"user_va":"0x1000"}',
      '{"op":"ioas_map","ioas":"one","flags":["READABLE"],"length":"0x1000","user_va":"0x1000"}',
      '{"op":"ioas_unmap","ioas":7,"iova":"0x0","length":"0x1000"}',
      '{"op":"device_attach","dev":"$nobody","pt":1}',
      'not json',
      '{"op":"ioas_map","ioas":1,"flags":["READABLE"],"length":"0x1000","user_va":"0x1000"}',
    ].join('\n');
    const run = runScript(labFor('laptop'), parseControlScript(script));
    const r = run.results;
    expect(r.map((x) => [x.line, x.ok, x.ok ? null : x.errno])).toEqual([
      [1, true, null],
      [2, false, 'ENOTTY'],
      [4, false, 'EINVAL'],
      [5, false, 'EINVAL'],
      [6, false, 'ENOENT'],
      [7, false, 'ENOENT'],
      [8, false, 'EINVAL'],
      [9, true, null],
    ]);
    const msg = (i: number) => (r[i]!.ok ? '' : String(r[i]!.message));
    expect(msg(1)).toContain('line 2: unknown op "ioas_frobnicate"');
    expect(msg(2)).toContain('line 4');
    expect(msg(2)).toContain('length');
    expect(msg(3)).toContain('ioas');
    expect(msg(4)).toContain('no ioas object with id 7'.replace('ioas', 'IOAS'));
    expect(msg(5)).toContain('$nobody');
    expect(run.badLines).toBe(4);
  });
});
