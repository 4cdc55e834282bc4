// A hand-built lab for tests (the replay and the view tests): one legacy-mode unit (4-level second-level tables, 48-bit
// input, HAW 39, 2 MiB superpages, pass-through), the IGD (00:02.0, RMRR for its stolen memory) and
// the xHCI (00:14.0), and helpers that apply control events and DMA to a Replay.
import { buildLab, type PlatformLab } from '../lab';
import { loadPlatform } from '../platform/index';
import { Replay, type ReplayEvent } from '../replay';
import { isProblem, parseControlLine } from '../../trace/control-script';

/** The lab; `extra` replaces top-level platform fields (e.g. `reservedMemory: []`). */
export function testLab(extra: Record<string, unknown> = {}): PlatformLab {
  const r = loadPlatform({
    format: 'iommu-lab/platform',
    version: 1,
    name: 't',
    segments: [{ segment: 0, busStart: '0x00', busEnd: '0xff' }],
    devices: [
      { bdf: '0000:00:02.0', name: 'igd', class: '030000', kind: 'rciep', parent: null },
      { bdf: '0000:00:14.0', name: 'xhci', class: '0c0330', kind: 'rciep', parent: null },
    ],
    iommus: [
      {
        id: 'dmar0',
        segment: 0,
        registerBase: '0xfed90000',
        includeAll: true,
        mode: 'legacy',
        capabilities: { slLevels: [4], mgaw: 48, haw: 39, superpages: ['2M'], passThrough: true },
      },
    ],
    reservedMemory: [
      { name: 'IGD stolen memory', base: '0x7b800000', end: '0x7bbfffff', scope: ['0000:00:02.0'] },
    ],
    kernel: { defaultDomain: 'dma' },
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return buildLab(r.value);
}

export function testReplay(extra: Record<string, unknown> = {}): Replay {
  return new Replay(testLab(extra));
}

let line = 0;
/** A control event from a control-script object, with origin "test:N" and time N. */
export function ctl(json: Record<string, unknown>): ReplayEvent {
  const p = parseControlLine(JSON.stringify(json), 1);
  if (isProblem(p)) throw new Error(p.message);
  line++;
  return { kind: 'control', time: line, origin: `test:${line}`, event: p.event };
}

export function dma(requesterId: number, addr: number, write: boolean): ReplayEvent {
  line++;
  return { kind: 'dma', time: line, requesterId, pasid: null, addr, len: 4, write };
}
