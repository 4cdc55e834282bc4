import { describe, expect, it } from 'vitest';
import { formatTime, parseTime } from './time-units';

describe('trace times as text', () => {
  it('formats in the largest unit that keeps the value at least 1', () => {
    expect(formatTime(0)).toBe('0 ns');
    expect(formatTime(999)).toBe('999 ns');
    expect(formatTime(1500)).toBe('1.500 µs');
    expect(formatTime(2_500_000)).toBe('2.500 ms');
    expect(formatTime(3_000_000_000, 1)).toBe('3.0 s');
  });

  it('parses a number with an optional unit (ns by default)', () => {
    expect(parseTime('1200')).toEqual({ ns: 1200 });
    expect(parseTime(' 1.5 ms ')).toEqual({ ns: 1_500_000 });
    expect(parseTime('200us')).toEqual({ ns: 200_000 });
    expect(parseTime('200 µs')).toEqual({ ns: 200_000 });
    expect(parseTime('3 S')).toEqual({ ns: 3_000_000_000 });
    expect(parseTime('.5s')).toEqual({ ns: 500_000_000 });
    expect(parseTime('2e3 ns')).toEqual({ ns: 2000 });
    expect(parseTime('-1 ms')).toHaveProperty('error');
    expect(parseTime('soon')).toEqual({
      error: '"soon" is not a time: write e.g. 1.5 ms, 200 µs, 3 s or 1200 ns',
    });
    expect(parseTime('1e30 s')).toEqual({ error: 'time out of range' });
  });
});
