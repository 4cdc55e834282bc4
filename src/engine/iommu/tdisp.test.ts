import { describe, expect, it } from 'vitest';
import { TdispInterface } from './tdisp';

describe('TDISP interface state', () => {
  it('walks CONFIG_UNLOCKED → CONFIG_LOCKED → RUN and STOP returns to CONFIG_UNLOCKED', () => {
    const t = new TdispInterface();
    expect(t.lock(1)).toBeNull();
    expect(t.state).toBe('CONFIG_LOCKED');
    expect(t.run(2)).toBeNull();
    expect(t.state).toBe('RUN');
    t.stop(3);
    expect(t.state).toBe('CONFIG_UNLOCKED');
    expect(t.history.map((h) => h.to)).toEqual(['CONFIG_LOCKED', 'RUN', 'CONFIG_UNLOCKED']);
  });
  it('refuses START before LOCK and LOCK twice, without changing state', () => {
    const t = new TdispInterface();
    expect(t.run(1)?.errno).toBe('EINVAL');
    expect(t.state).toBe('CONFIG_UNLOCKED');
    t.lock(2);
    expect(t.lock(3)?.errno).toBe('EINVAL');
    expect(t.state).toBe('CONFIG_LOCKED');
  });
  it('goes to ERROR on a violation only when locked or running; STOP recovers', () => {
    const t = new TdispInterface();
    t.error(1, 'config write');
    expect(t.state).toBe('CONFIG_UNLOCKED');
    t.lock(2);
    t.run(3);
    t.error(4, 'T=1 request to shared memory');
    expect(t.state).toBe('ERROR');
    expect(t.run(5)?.errno).toBe('EINVAL');
    t.stop(6);
    expect(t.state).toBe('CONFIG_UNLOCKED');
  });
});
