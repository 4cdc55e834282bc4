import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, FilterError, parseFilter } from './filter';
import { sampleStore } from './test-rows';

const store = sampleStore();
/** the rows of the sample table (test-rows.ts) a filter matches */
function rows(filter: string): number[] {
  const p = compileFilter(parseFilter(filter), store);
  const out: number[] = [];
  for (let i = 0; i < store.length; i++) if (p(i)) out.push(i);
  return out;
}
function error(filter: string): string {
  try {
    parseFilter(filter);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return (e as Error).message;
  }
  throw new Error(`${filter} parsed`);
}

describe('filter language', () => {
  it('matches every row when blank', () => {
    expect(parseFilter('   ')).toBeNull();
    expect(rows('')).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('compares requesters as PCI addresses, the segment optional', () => {
    expect(rows('rid == 00:14.0')).toEqual([0, 2, 3]);
    expect(rows('bdf == 0000:00:14.0')).toEqual([0, 2, 3]);
    expect(rows('device != 00:14.0')).toEqual([1, 4, 5]);
    expect(rows('rid == 00:02.0')).toEqual([4]);
    expect(rows('rid == 0001:00:02.0')).toEqual([4]);
    expect(rows('rid == 0000:00:02.0')).toEqual([]);
    expect(rows('rid == 00:1F.3')).toEqual([5]);
  });

  it('compares fault reasons in hex or decimal; hazards have none', () => {
    expect(rows('reason == 0x05')).toEqual([0]);
    expect(rows('reason == 5')).toEqual([0]);
    expect(rows('reason == 0x06')).toEqual([1, 5]);
    expect(rows('reason >= 0x100')).toEqual([3]);
    expect(rows('reason < 6')).toEqual([0, 4]);
    expect(rows('reason != 6')).toEqual([0, 2, 3, 4]);
    expect(rows('reason in 4..5')).toEqual([0, 4]);
    expect(rows('rid == 00:14.0 && reason == 0x05')).toEqual([0]);
  });

  it('tells faults from hazards', () => {
    expect(rows('hazard')).toEqual([2]);
    expect(rows('fault')).toEqual([0, 1, 3, 4, 5]);
    expect(rows('!hazard')).toEqual([0, 1, 3, 4, 5]);
    expect(rows('kind == hazard')).toEqual([2]);
    expect(rows('kind != hazard')).toEqual([0, 1, 3, 4, 5]);
  });

  it('knows the T bit only where the lab does (TEE-IO reasons, or given)', () => {
    expect(rows('t == 1')).toEqual([3]);
    expect(rows('t')).toEqual([3]);
    expect(rows('tbit == 0')).toEqual([4]);
    expect(rows('t != 1')).toEqual([0, 1, 2, 4, 5]);
  });

  it('compares PASIDs; a bare pasid means the request has one', () => {
    expect(rows('pasid')).toEqual([1, 4]);
    expect(rows('pasid == 3')).toEqual([1]);
    expect(rows('pasid == none')).toEqual([0, 2, 3, 5]);
    expect(rows('pasid != 3')).toEqual([0, 2, 3, 4, 5]);
    expect(rows('pasid > 0')).toEqual([1]);
  });

  it('reads accesses', () => {
    expect(rows('write')).toEqual([0, 2, 4]);
    expect(rows('read')).toEqual([1, 3, 5]);
    expect(rows('access == write')).toEqual([0, 2, 4]);
    expect(rows('access != write')).toEqual([1, 3, 5]);
  });

  it('compares 64-bit addresses, ranges inclusive', () => {
    expect(rows('addr >= 0x100000000')).toEqual([2, 3]);
    expect(rows('address in 0x1000..0xfff01000')).toEqual([0, 1, 5]);
    expect(rows('addr == 0x200000000000')).toEqual([2]);
    expect(rows('addr == 0')).toEqual([4]);
    expect(rows('addr < 4096')).toEqual([4]);
    expect(rows('addr > 0xffffffffffffffff')).toEqual([]);
  });

  it('reads times with units', () => {
    expect(rows('time >= 1.5ms && time < 2ms')).toEqual([1, 2]);
    expect(rows('time in 1us..1.5ms')).toEqual([0, 1]);
    expect(rows('time > 2.5s')).toEqual([4, 5]);
    expect(rows('time == 1000')).toEqual([0]);
    expect(rows('time == 1000ns')).toEqual([0]);
    expect(rows('time <= 1600us')).toEqual([0, 1, 2]);
  });

  it('matches stages, classes and recordings by name', () => {
    expect(rows('stage == tee-io')).toEqual([3]);
    expect(rows('stage == iotlb')).toEqual([2]);
    expect(rows('class == rmrr-without-unity-map')).toEqual([1]);
    expect(rows('class != rmrr-without-unity-map')).toEqual([0, 2, 3, 4, 5]);
    expect(rows("class == 'beyond-address-width'")).toEqual([4]);
    expect(rows('recording == compressed')).toEqual([1]);
    expect(rows('recording != recorded')).toEqual([1, 2, 3, 4]);
  });

  it('combines with !, &&, || (&& first), words and parentheses', () => {
    expect(rows('!(write || pasid)')).toEqual([3, 5]);
    expect(rows('reason == 5 or hazard')).toEqual([0, 2]);
    expect(rows('not hazard and read')).toEqual([1, 3, 5]);
    expect(rows('hazard || write && pasid')).toEqual([2, 4]);
    expect(rows('(hazard || write) && pasid')).toEqual([4]);
    expect(rows('!!hazard')).toEqual([2]);
    expect(rows('reason = 5')).toEqual([0]);
    expect(rows('REASON == 0X05')).toEqual([0]);
  });

  it('names the column and what it expected', () => {
    expect(error('reason == ')).toBe(
      'column 11: expected a number (decimal or 0x hex) for reason, found the end of the filter',
    );
    expect(error('rid == 00:14.9')).toMatch(/^column 8: expected a PCI address like 00:14.0 or 0000:00:14.0/);
    expect(error('foo == 1')).toMatch(/^column 1: expected a field \(rid, bdf, device, pasid, reason/);
    expect(error('reason == 5 &&')).toMatch(/^column 15: expected a field/);
    expect(error('(hazard')).toBe(
      'column 8: expected ")" to close the "(" at column 1, found the end of the filter',
    );
    expect(error('hazard)')).toBe('column 7: no "(" opened before this ")"');
    expect(error('time > 5 parsecs')).toBe('column 10: expected && or || before "parsecs"');
    expect(error('time > 5h')).toBe(
      'column 8: expected a time unit (ns, us, ms or s) after the number, found "h"',
    );
    expect(error('stage == nowhere')).toMatch(/^column 10: expected one of none, root, context/);
    expect(error('hazard == 1')).toBe('column 8: hazard stands alone (or write kind == hazard)');
    expect(error('rid < 00:14.0')).toBe('column 5: expected == or != after rid (it has no order), found "<"');
    expect(error('reason')).toBe(
      'column 7: expected ==, !=, <, <=, >, >= or in after reason, found the end of the filter',
    );
    expect(error('a $ b')).toMatch(/^column 3: unexpected character "\$"/);
    expect(error('addr in 1..')).toMatch(/^column 12: expected an address/);
    expect(error('addr in 1 2')).toBe(
      'column 11: expected ".." between the two ends of the range, found "2"',
    );
    expect(error('reason == 1.5')).toMatch(/^column 11: expected a whole number below 2\^32 for reason/);
    expect(error("stage == 'root")).toBe("column 10: expected a closing ' for this quoted value");
  });

  it('throws nothing but a FilterError, whatever the input', () => {
    const words = fc.constantFrom(
      'rid',
      'reason',
      'time',
      'addr',
      'pasid',
      't',
      'hazard',
      'fault',
      'write',
      'class',
      'stage',
      'in',
      '..',
      '==',
      '!=',
      '<',
      '>=',
      '&&',
      '||',
      '!',
      '(',
      ')',
      'and',
      'or',
      'not',
      '0x05',
      '00:14.0',
      '1.5ms',
      'none',
      'root',
      "'",
      '"',
      '1',
      '0',
      'x',
      ' ',
      '-',
      ':',
      '.',
    );
    const inputs = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(words, { maxLength: 12 }).map((w) => w.join(' ')),
      fc.array(words, { maxLength: 12 }).map((w) => w.join('')),
    );
    fc.assert(
      fc.property(inputs, (text) => {
        try {
          const p = compileFilter(parseFilter(text), store);
          for (let i = 0; i < store.length; i++) p(i);
        } catch (e) {
          if (!(e instanceof FilterError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses nesting deeper than it can handle, as a FilterError', () => {
    expect(error('('.repeat(5000) + 'hazard' + ')'.repeat(5000))).toMatch(/nested more than 200 deep/);
    expect(error('!'.repeat(5000) + 'hazard')).toMatch(/nested more than 200 deep/);
  });
});
