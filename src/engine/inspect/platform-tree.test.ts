// The platform tree on the shipped samples and on the matched ThinkPad X1 Carbon Gen 9, then before and
// after control events. Expected answers come from the platform files, the Linux rules cited beside
// them (src/engine/platform/samples.test.ts works the groups out), the kernel's own "Adding to iommu
// group" lines of the ThinkPad's boot, and the order the lab numbers domains: blocked 1, identity 2,
// then each group's default domain in group order; VT-d domain IDs per unit from 2, in the order the
// driver first programs a domain (every group at boot, in group order).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPlatformReport } from '../../firmware/build-platform';
import { readKernelLog } from '../../firmware/kernel-log';
import { parseControlScript, isProblem } from '../../trace/control-script';
import { buildLab } from '../lab';
import { loadPlatform, type Platform } from '../platform/index';
import { Replay } from '../replay';
import { inspect } from './index';
import { platformTree } from './platform-tree';
import type { PlatformTreeView, TreeDevice } from '../../shared/views/platform-tree';

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

function load(json: unknown): Platform {
  const r = loadPlatform(json);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}
const sample = (name: string) =>
  load(JSON.parse(readFileSync(root(`traces/platforms/${name}.platform.json`), 'utf8')));

/** A replay of a sample with a control script applied up to (and including) time `until`. */
function replayed(platform: string, script: string | null, until = Infinity): Replay {
  const replay = new Replay(buildLab(sample(platform)));
  if (script === null) return replay;
  const lines = parseControlScript(readFileSync(root(`traces/scripts/${script}.script.jsonl`), 'utf8'));
  for (const l of lines) {
    if (isProblem(l)) throw new Error(l.message);
    const time = l.event.t ?? 0;
    if (time > until) break;
    replay.apply({ kind: 'control', time, origin: `line ${l.line}`, event: l.event });
  }
  return replay;
}

const device = (t: PlatformTreeView, bdf: string): TreeDevice =>
  t.units.flatMap((u) => u.groups.flatMap((g) => g.devices)).find((d) => d.bdf === bdf)!;
const group = (t: PlatformTreeView, id: number) => t.units.flatMap((u) => u.groups).find((g) => g.id === id)!;

const MSI = {
  type: 'msi',
  start: '0xfee00000',
  end: '0xfeefffff',
  source: 'interrupt (MSI) address window',
};
const REQ = 'SV|RR|CR|UF';

describe('laptop sample at boot', () => {
  const t = platformTree(replayed('laptop', null));

  it('lists the two units in registration order, their groups and members', () => {
    expect(t.platform).toBe('Laptop (Tiger Lake-UP3 class)');
    expect(t.time).toBe(0);
    expect(t.untranslated).toEqual([]); // dmar1 is INCLUDE_PCI_ALL
    expect(t.units.map((u) => [u.name, u.segment, u.base, u.mode, u.includeAll])).toEqual([
      ['dmar0', 0, '0xfed90000', 'legacy', false],
      ['dmar1', 0, '0xfed91000', 'legacy', true],
    ]);
    expect(t.units.map((u) => u.groups.map((g) => [g.id, ...g.devices.map((d) => d.bdf.slice(5))]))).toEqual([
      [[0, '00:02.0']],
      [
        [1, '00:00.0'],
        [2, '00:14.0', '00:14.2'],
        [3, '00:1c.0', '01:00.0'],
        [4, '00:1d.0'],
        [5, '00:1f.0', '00:1f.3', '00:1f.4', '00:1f.5'],
        [6, '02:00.0'],
      ],
    ]);
  });

  it('says why each group formed', () => {
    expect(t.units.flatMap((u) => u.groups.map((g) => g.reason))).toEqual([
      '00:02.0 is alone: on root bus 00, with no DMA alias and no non-isolated sibling function',
      '00:00.0 is alone: on root bus 00, with no DMA alias and no non-isolated sibling function',
      `multifunction device 00:14.{0,2} without ACS (${REQ}): its functions can reach each other`,
      `00:1c.0 root port lacks ACS (${REQ}: no ACS capability); everything below it shares its group (01:00.0)`,
      '00:1d.0 is alone: on root bus 00, with no DMA alias and no non-isolated sibling function',
      `multifunction device 00:1f.{0,3,4,5} without ACS (${REQ}): its functions can reach each other`,
      `02:00.0 is alone: ACS (${REQ}) isolates its path to the root from 00:1d.0 up`,
    ]);
  });

  it('puts every group on its own DMA-FQ default domain, owned by nobody yet', () => {
    // kernel.defaultDomain dma-fq; domains 3..9 in group order; DID 2 on dmar0, DIDs 2..7 on dmar1
    expect(
      t.units.flatMap((u) => u.groups.map((g) => [g.id, g.domain, g.defaultDomainType, g.owner])),
    ).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((id) => [
        id,
        { type: 'dma-fq', id: id + 3, did: id === 0 ? 2 : id + 1 },
        'dma-fq',
        'none',
      ]),
    );
    const igd = device(t, '0000:00:02.0');
    expect(igd).toEqual({
      bdf: '0000:00:02.0',
      name: 'Iris Xe Graphics (IGD)',
      classCode: '030000',
      kind: 'rciep',
      domain: { type: 'dma-fq', id: 3, did: 2 },
      owner: 'none',
      driver: null,
      resv: [
        {
          type: 'direct-relaxable',
          start: '0x7b800000',
          end: '0x7fffffff',
          source: 'RMRR 1 (IGD stolen memory), relaxable: graphics device',
        },
        MSI,
      ],
      requireDirect: false,
      tdisp: null,
      pasidWidth: 0,
      pasids: [],
      tlps: 0,
      faults: 0,
    });
  });

  it('lists each device reserved regions: RMRRs (relaxable for USB and graphics), the ISA floppy window, MSI', () => {
    expect(device(t, '0000:00:14.0').resv).toEqual([
      {
        type: 'direct-relaxable',
        start: '0x3e2e0000',
        end: '0x3e2fffff',
        source: 'RMRR 0 (xHCI legacy USB (SMM) buffer), relaxable: USB controller',
      },
      MSI,
    ]);
    expect(device(t, '0000:00:14.2').resv).toEqual([MSI]); // the RMRR scope names 00:14.0 only
    expect(device(t, '0000:00:1f.0').resv).toEqual([
      {
        type: 'direct-relaxable',
        start: '0x0',
        end: '0xffffff',
        source: 'ISA bridge floppy workaround (CONFIG_INTEL_IOMMU_FLOPPY_WA)',
      },
      MSI,
    ]);
    expect(device(t, '0000:01:00.0').resv).toEqual([MSI]);
  });

  it('answers through the inspect channel, and leaves the driver state alone', () => {
    const replay = replayed('laptop', null);
    const dids = [...replay.driver.units.values()].map((u) => u.nextDid);
    const viaInspect = inspect({ replay, controls: [] }, { view: 'platformTree' });
    expect(viaInspect).toEqual(t);
    expect(structuredClone(viaInspect)).toEqual(t);
    expect([...replay.driver.units.values()].map((u) => u.nextDid)).toEqual(dids);
  });
});

describe('server sample at boot', () => {
  const t = platformTree(replayed('server', null));

  it('registers the CPU-stack unit first; groups behind the PCIe-to-PCI bridge and the switch', () => {
    expect(t.units.map((u) => [u.name, u.groups.map((g) => g.id)])).toEqual([
      ['dmar1', [0, 1, 2, 3]],
      ['dmar0', [4, 5, 6, 7, 8, 9, 10]],
    ]);
    expect(group(t, 9).reason).toBe(
      'behind PCIe-to-PCI bridge 01:00.0: requester ID 02:00.0 aliases 02:00.0, 02:01.0',
    );
    expect(group(t, 10).reason).toContain(`multifunction device 03:00.{0,1} without ACS (${REQ})`);
  });

  it('marks the LOM ports as requiring a 1:1 mapping (the BMC RMRR is not relaxable)', () => {
    for (const bdf of ['0000:03:00.0', '0000:03:00.1']) {
      const d = device(t, bdf);
      expect(d.requireDirect).toBe(true);
      expect(d.resv.map((r) => [r.type, r.start, r.end])).toEqual([
        ['direct', '0x6f3fc000', '0x6f3fffff'],
        ['msi', '0xfee00000', '0xfeefffff'],
      ]);
    }
    expect(device(t, '0000:1a:00.0').requireDirect).toBe(false);
    // kernel.defaultDomain dma: strict DMA domains
    expect(group(t, 10).domain.type).toBe('dma');
  });
});

describe('TEE-IO sample through its TDISP script', () => {
  const nic = (until: number) => {
    const t = platformTree(replayed('tee-io', 'tee-io-tdisp', until));
    return { t, g: group(t, 2), d: device(t, '0000:16:00.0') };
  };

  it('at boot: a scalable unit, the NIC alone on a DMA domain, TDISP CONFIG_UNLOCKED, no PASIDs', () => {
    const { t, g, d } = nic(0);
    expect(t.units.map((u) => [u.name, u.base, u.mode, u.includeAll])).toEqual([
      ['dmar0', '0xd37fc000', 'scalable', true],
    ]);
    expect(g.reason).toBe(`16:00.0 is alone: ACS (${REQ}) isolates its path to the root from 15:01.0 up`);
    // domains 3, 4, 5 for groups 0, 1, 2; DIDs 2, 3, 4
    expect(g.domain).toEqual({ type: 'dma', id: 5, did: 4 });
    expect(g.owner).toBe('none');
    expect(d).toMatchObject({ owner: 'none', tdisp: 'CONFIG_UNLOCKED', pasidWidth: 20, pasids: [] });
    expect(d.resv).toEqual([MSI]);
  });

  it('bound to iommufd: owned by user space, on the blocking domain (no DID programmed)', () => {
    const { g, d } = nic(200);
    expect(g.owner).toBe('user');
    expect(g.domain).toEqual({ type: 'blocked', id: 1, did: null });
    expect(g.defaultDomainType).toBe('dma');
    expect(d.owner).toBe('user');
    expect(d.domain).toEqual(g.domain);
  });

  it('attached: the RID on the nested HWPT, PASID 1 on the stage-2 parent, then locked and running', () => {
    // s2 (unmanaged) is domain 6 and s1 (nested) domain 7; the driver programs the RID's nested entry
    // at t=600 (DID 5), then PASID 1's entry at t=700 (DID 6)
    const { g, d } = nic(700);
    expect(g.domain).toEqual({ type: 'nested', id: 7, did: 5 });
    expect(d.pasids).toEqual([{ pasid: 1, domain: { type: 'unmanaged', id: 6, did: 6 } }]);
    expect(d.tdisp).toBe('CONFIG_UNLOCKED');
    expect(nic(900).d.tdisp).toBe('CONFIG_UNLOCKED'); // START_INTERFACE before LOCK is refused
    expect(nic(1000).d.tdisp).toBe('CONFIG_LOCKED');
    expect(nic(1100).d.tdisp).toBe('RUN');
    expect(nic(2000).d.tdisp).toBe('CONFIG_UNLOCKED'); // STOP_INTERFACE
    expect(nic(2000).t.time).toBe(2000);
  });
});

describe('laptop sample through its assignment script', () => {
  it('names the kernel driver owners, then user space once a device is claimed', () => {
    let t = platformTree(replayed('laptop', 'laptop-assign', 1100));
    expect(device(t, '0000:00:02.0').owner).toBe('i915');
    expect(device(t, '0000:02:00.0')).toMatchObject({ owner: 'nvme', driver: 'nvme' });
    expect(group(t, 0).owner).toBe('kernel');
    expect(group(t, 3).owner).toBe('none');

    // t=2200: the Wi-Fi card is attached to an IOAS: an auto HWPT (domain 10, the first after the
    // seven default domains; DID 8 on dmar1, after 2..7), and the whole group is the user's
    t = platformTree(replayed('laptop', 'laptop-assign', 2200));
    expect(group(t, 3)).toMatchObject({ owner: 'user', domain: { type: 'unmanaged', id: 10, did: 8 } });
    expect(group(t, 3).devices.map((d) => [d.bdf, d.owner, d.domain.type])).toEqual([
      ['0000:00:1c.0', 'user', 'unmanaged'],
      ['0000:01:00.0', 'user', 'unmanaged'],
    ]);

    // t=4100: i915 unbound, nothing uses the IGD's group
    t = platformTree(replayed('laptop', 'laptop-assign', 4100));
    expect(device(t, '0000:00:02.0')).toMatchObject({ owner: 'none', driver: null });
    expect(group(t, 0)).toMatchObject({ owner: 'none', domain: { type: 'dma-fq' } });
  });
});

const THINKPAD = root('../shared/reference/samples/matched/lenovo-thinkpad-x1-carbon-gen9');

describe.skipIf(!existsSync(THINKPAD))('ThinkPad X1 Carbon Gen 9 (DMAR, lspci and dmesg of one boot)', () => {
  const file = (name: string) => ({ file: name, bytes: new Uint8Array(readFileSync(`${THINKPAD}/${name}`)) });
  const report = buildPlatformReport([file('dmar.dat'), file('lspci.txt'), file('dmesg.txt')]);
  const t = platformTree(new Replay(buildLab(load(report.platform))));

  it('numbers the groups under their units as the kernel did', () => {
    // The kernel registered dmar2, dmar1, dmar0 (device scopes, reverse table order) then dmar3
    // (INCLUDE_PCI_ALL), as its "Using Queued invalidation" lines show, and printed these group lines.
    expect(t.units.map((u) => [u.name, u.base, u.includeAll])).toEqual([
      ['dmar2', '0xfed86000', false],
      ['dmar1', '0xfed85000', false],
      ['dmar0', '0xfed90000', false],
      ['dmar3', '0xfed91000', true],
    ]);
    expect(t.units.map((u) => u.groups.map((g) => [g.id, ...g.devices.map((d) => d.bdf.slice(5))]))).toEqual([
      [[0, '00:07.2']],
      [[1, '00:07.0']],
      [[2, '00:02.0']],
      [
        [3, '00:00.0'],
        [4, '00:04.0'],
        [5, '00:06.0'],
        [6, '00:08.0'],
        [7, '00:0a.0'],
        [8, '00:0d.0', '00:0d.2', '00:0d.3'],
        [9, '00:12.0'],
        [10, '00:14.0', '00:14.2'],
        [11, '00:14.3'],
        [12, '00:15.0', '00:15.3'],
        [13, '00:16.0'],
        [14, '00:1c.0'],
        [15, '00:1f.0', '00:1f.3', '00:1f.4', '00:1f.5'],
        [16, '04:00.0'],
        [17, '08:00.0'],
      ],
    ]);
    // and the same numbers as the boot's own lines
    const { hints } = readKernelLog(readFileSync(`${THINKPAD}/dmesg.txt`, 'utf8'));
    const flat = t.units.flatMap((u) => u.groups.flatMap((g) => g.devices.map((d) => [g.id, d.bdf])));
    expect(flat).toEqual(hints.groups.map((g) => [g.group, g.bdf]));
  });

  it('gives the IGD the RMRR of its stolen memory, and every group a reason and a DMA-FQ domain', () => {
    expect(device(t, '0000:00:02.0').resv.map((r) => [r.type, r.start, r.end])).toEqual([
      ['direct-relaxable', '0x9c000000', '0xa07fffff'],
      ['msi', '0xfee00000', '0xfeefffff'],
    ]);
    const groups = t.units.flatMap((u) => u.groups);
    expect(groups.every((g) => g.reason.length > 0 && g.domain.type === 'dma-fq' && g.owner === 'none')).toBe(
      true,
    );
  });
});
