import { describe, expect, it } from 'vitest';
import { PhysMem, splitAddress } from './phys-mem';

describe('PhysMem', () => {
  it('bump-allocates zeroed 4 KiB frames from the base', () => {
    const mem = new PhysMem();
    // Default base 0x1_0000_0000; each frame is 0x1000 further.
    expect(mem.allocFrame()).toBe(0x1_0000_0000);
    expect(mem.allocFrame()).toBe(0x1_0000_1000);
    expect(mem.framesInUse).toBe(2);
    expect(mem.read64(0x1_0000_0ff8)).toBe(0n);
    const low = new PhysMem({ base: 0x20_0000 });
    expect(low.allocFrame()).toBe(0x20_0000);
  });

  it('stores little-endian 64-bit words as unsigned 32-bit halves', () => {
    const mem = new PhysMem();
    const pa = mem.allocFrame();
    // 0xdeadbeef_80000001: hi = 0xdeadbeef, lo = 0x80000001 (both above 2^31, so unsigned matters).
    mem.write64Big(pa + 8, 0xdeadbeef_80000001n);
    expect(mem.readLo(pa + 8)).toBe(0x8000_0001);
    expect(mem.readHi(pa + 8)).toBe(0xdead_beef);
    // write64 takes halves modulo 2^32: -1 → 0xffffffff.
    mem.write64(pa + 0xff8, -1, 0x12);
    expect(mem.read64(pa + 0xff8)).toBe(0x12_ffff_ffffn);
    // Neighbouring words untouched.
    expect(mem.read64(pa)).toBe(0n);
    expect(mem.read64(pa + 16)).toBe(0n);
  });

  it('reads 0 from unbacked addresses and refuses writes there', () => {
    const mem = new PhysMem();
    mem.allocFrame();
    expect(mem.isBacked(0x1_0000_0008)).toBe(true);
    expect(mem.isBacked(0x1_0000_1000)).toBe(false);
    expect(mem.readLo(0x1_0000_1000)).toBe(0);
    expect(mem.readHi(0x7_0000_0000)).toBe(0);
    expect(mem.read64(0xfee0_0000)).toBe(0n);
    expect(() => mem.write64(0x1_0000_1000, 1, 0)).toThrow(/unbacked address 0x100001000/);
  });

  it('throws on misaligned 64-bit access', () => {
    const mem = new PhysMem();
    const pa = mem.allocFrame();
    expect(() => mem.readLo(pa + 4)).toThrow(/misaligned 64-bit access at 0x100000004/);
    expect(() => mem.write64(pa + 1, 0, 0)).toThrow(/misaligned/);
    expect(() => mem.read64(pa + 0.5)).toThrow(/misaligned/);
  });

  it('reuses the most recently freed frame, zeroed', () => {
    const mem = new PhysMem();
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    const c = mem.allocFrame();
    mem.write64Big(b, 0xffn);
    mem.freeFrame(b);
    mem.freeFrame(a);
    expect(mem.framesInUse).toBe(1);
    expect(mem.isBacked(b)).toBe(false);
    expect(mem.read64(b)).toBe(0n);
    // LIFO: a was freed last, so it comes back first, then b, then a new frame after c.
    expect(mem.allocFrame()).toBe(a);
    expect(mem.allocFrame()).toBe(b);
    expect(mem.read64(b)).toBe(0n);
    expect(mem.allocFrame()).toBe(c + 0x1000);
    expect(() => mem.freeFrame(0x9_0000_0000)).toThrow(/not backed/);
    expect(() => mem.freeFrame(a + 8)).toThrow(/4 KiB aligned/);
  });

  it('keeps data across pool growth', () => {
    const mem = new PhysMem();
    const frames: number[] = [];
    // 300 frames is well past the initial pool (16) and dense index (64), forcing several doublings.
    for (let i = 0; i < 300; i++) {
      const pa = mem.allocFrame();
      frames.push(pa);
      mem.write64(pa + 8 * (i % 512), i, i + 1);
    }
    expect(frames[299]).toBe(0x1_0000_0000 + 299 * 0x1000);
    for (let i = 0; i < 300; i++) {
      expect(mem.readLo(frames[i] + 8 * (i % 512))).toBe(i);
      expect(mem.readHi(frames[i] + 8 * (i % 512))).toBe(i + 1);
    }
    expect(mem.framesInUse).toBe(300);
  });

  it('backs frames at chosen addresses, sparse or inside the allocator range', () => {
    const mem = new PhysMem();
    // Below base (sparse map) and near the top of the 52-bit space.
    expect(mem.backFrame(0x7f00_0000)).toBe(true);
    expect(mem.backFrame(0xf_ffff_ffff_f000)).toBe(true);
    expect(mem.backFrame(0x7f00_0000)).toBe(false);
    mem.write64Big(0xf_ffff_ffff_fff8, 0x1234n);
    expect(mem.read64(0xf_ffff_ffff_fff8)).toBe(0x1234n);
    // Inside the allocator's range: the bump allocator skips it.
    expect(mem.backFrame(0x1_0000_1000)).toBe(true);
    expect(mem.allocFrame()).toBe(0x1_0000_0000);
    expect(mem.allocFrame()).toBe(0x1_0000_2000);
    // Ahead of the dense index: lives in the map, then moves into the index as the allocator grows.
    const far = 0x1_0000_0000 + 100 * 0x1000;
    mem.backFrame(far);
    mem.write64(far, 7, 0);
    for (let i = 0; i < 120; i++) expect(mem.allocFrame()).not.toBe(far);
    expect(mem.readLo(far)).toBe(7);
    expect(mem.framesInUse).toBe(2 + 1 + 2 + 1 + 120);
    mem.freeFrame(0x7f00_0000);
    expect(mem.isBacked(0x7f00_0000)).toBe(false);
  });

  it('never hands out a frame placed just past the dense index', () => {
    const mem = new PhysMem();
    // Dense index starts with 64 entries, so base + 64 frames is the first address kept in the map.
    const edge = 0x1_0000_0000 + 64 * 0x1000;
    mem.backFrame(edge);
    const got = new Set<number>();
    for (let i = 0; i < 70; i++) got.add(mem.allocFrame());
    expect(got.has(edge)).toBe(false);
    expect(got.size).toBe(70);
    // Frames 0..63, then 65..70: the 70th allocation lands on base + 70 frames.
    expect(Math.max(...got)).toBe(0x1_0000_0000 + 70 * 0x1000);
    expect(mem.framesInUse).toBe(71);
  });

  it('splits addresses into 32-bit halves', () => {
    // 0xf_1234_5678_9000 = hi 0xf1234, lo 0x56789000.
    expect(splitAddress(0xf_1234_5678_9000)).toEqual({ lo: 0x5678_9000, hi: 0xf_1234 });
  });
});
