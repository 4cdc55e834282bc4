import { describe, expect, it } from 'vitest';
import { CaptureReader, readCapture } from './capture';
import { recogniseGuestWorkload, recogniseQemuWorkload } from './workload-lines';
import { cleanLine, parseEnvelope } from '../trace/import/index';

const env = (line: string) => parseEnvelope(cleanLine(line));

describe('workload lines', () => {
  it('reads PHASE markers with and without an NVMe marker', () => {
    expect(
      recogniseGuestWorkload(env('[    2.269904] PHASE 4: nvme ready (nvme marker lba=0x1f020)')),
    ).toEqual({
      k: 'phase',
      phase: 4,
      text: 'nvme ready',
      lba: 0x1f020,
    });
    expect(recogniseGuestWorkload(env('[    1.933029] PHASE 1: init start; cmdline: a=b (c)'))).toEqual({
      k: 'phase',
      phase: 1,
      text: 'init start; cmdline: a=b (c)',
      lba: null,
    });
    // the workload's own echo carries no printk time: not a marker
    expect(recogniseGuestWorkload(env('== PHASE 4: nvme ready'))).toBeNull();
  });

  it('reads the PCI listing, the group listing and its reserved regions', () => {
    expect(recogniseGuestWorkload(env('0000:00:03.0 0x8086 0x10d3 0x020000 e1000e\r'))).toEqual({
      k: 'pci',
      bdf: '0000:00:03.0',
      vendor: 0x8086,
      device: 0x10d3,
      classCode: 0x020000,
      driver: 'e1000e',
    });
    expect(recogniseGuestWorkload(env('0000:00:1f.0 0x8086 0x2918 0x060100 -'))).toMatchObject({
      driver: null,
    });
    expect(
      recogniseGuestWorkload(env('group 3 type=DMA devices: 0000:00:1f.0 0000:00:1f.2 0000:00:1f.3 ')),
    ).toEqual({ k: 'group', id: 3, type: 'DMA', devices: ['0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3'] });
    expect(
      recogniseGuestWorkload(env('   reserved: 0x0000000000000000 0x0000000000ffffff direct-relaxable')),
    ).toEqual({ k: 'reserved', start: 0n, end: 0xffffffn, type: 'direct-relaxable' });
  });

  it('reads the marker reads among pci_nvme_read lines only', () => {
    expect(
      recogniseQemuWorkload(
        env('18728@1795437677.634554:pci_nvme_read cid 707 nsid 1 nlb 8 count 4096 lba 0x1f020'),
      ),
    ).toEqual({ k: 'nvme-read', lba: 0x1f020 });
    expect(
      recogniseQemuWorkload(env('18728@1795437673.018278:pci_nvme_map_prp trans_len 4096 len 4096')),
    ).toBeNull();
  });
});

const GUEST = [
  '\x1bc\x1b[?7lSeaBIOS (version 1.16.2-debian-1.16.2-1)\r',
  '[    0.231577] DMAR: Host address width 39\r',
  '[    0.232502] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap 480080f00f4a\r',
  '[    1.108104] add_device_to_group: IOMMU: groupID=1 device=0000:00:03.0\r',
  '[    1.108248] pci 0000:00:03.0: Adding to iommu group 1\r',
  '[    1.116353] attach_device_to_domain: IOMMU: device=0000:00:03.0\r',
  '[    1.124481] map: IOMMU: iova=0x0000000000000000 - 0x0000000001000000 paddr=0x0000000000000000 size=16777216\r',
  '[    2.269904] PHASE 4: nvme ready (nvme marker lba=0x1f020)\r',
  'group 1 type=DMA devices: 0000:00:03.0 \r',
  '   reserved: 0x00000000fee00000 0x00000000feefffff msi\r',
  '[    7.183596] map: IOMMU: iova=0x00000000fffc1000 - 0x00000000fffc3000 paddr=0x00000000365c9000 size=8192\r',
  '[    7.186323] unmap: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffd0000 size=65536 unmapped_size=65536\r',
  '[    7.738216] DMAR: DRHD: handling fault status reg 2\r',
  '[    7.738648] DMAR: [DMA Read PASID 0x0] Request device [00:03.0] fault addr 0xfffff000 [fault reason 0x06] PTE Read access is not set\r',
  '',
].join('\n');

describe('guest console reader', () => {
  it('collects ops, devices, unit, markers, listings and fault lines', () => {
    const g = readCapture('guest', 'console', GUEST);
    expect(g.lines).toBe(14);
    expect(g.ops.map((o) => [o.op, o.line, o.time, o.iova, o.size, o.paddr, o.unmappedSize])).toEqual([
      ['map', 7, 1.124481, 0n, 0x1000000n, 0n, null],
      ['map', 11, 7.183596, 0xfffc1000n, 0x2000n, 0x365c9000n, null],
      ['unmap', 12, 7.186323, 0xfffc0000n, 0x10000n, null, 0x10000n],
    ]);
    expect(g.devices.map((d) => [d.op, d.bdf, d.group])).toEqual([
      ['add_device_to_group', '0000:00:03.0', 1],
      ['attach_device_to_domain', '0000:00:03.0', null],
    ]);
    expect(g.groupHints).toEqual([{ bdf: '0000:00:03.0', group: 1, line: 5 }]);
    expect(g.units).toEqual([
      { name: 'dmar0', base: 0xfed90000n, cap: 0xd2008c22260286n, ecap: 0x480080f00f4an, line: 3 },
    ]);
    expect(g.haw).toBe(39);
    expect(g.phases).toEqual([{ phase: 4, line: 8, time: 2.269904, text: 'nvme ready', lba: 0x1f020 }]);
    expect(g.groups).toEqual([
      {
        id: 1,
        type: 'DMA',
        devices: ['0000:00:03.0'],
        reserved: [{ start: 0xfee00000n, end: 0xfeefffffn, type: 'msi' }],
        line: 9,
      },
    ]);
    expect(g.faultStatus).toEqual([{ line: 13, time: 7.738216, fsts: 2 }]);
    expect(g.faults).toHaveLength(1);
    expect(g.faults[0]).toMatchObject({
      line: 14,
      sid: 0x18,
      bdf: '0000:00:03.0',
      access: 'read',
      address: 0xfffff000n,
      reason: 6,
      pasid: 0,
    });
    expect(g.issues).toEqual([]);
    expect([g.firstTime, g.lastTime]).toEqual([0.231577, 7.738648]);
  });

  it('reads the same text in any chunking', () => {
    const r = new CaptureReader('guest', 'console');
    for (let i = 0; i < GUEST.length; i += 7) r.pushText(GUEST.slice(i, i + 7));
    const g = r.end().guest;
    expect(g.ops).toHaveLength(3);
    expect(g.faults).toHaveLength(1);
  });

  it('keeps only the first boot of a console that holds two', () => {
    const g = readCapture('guest', 'console', GUEST + GUEST);
    expect(g.ops).toHaveLength(3);
    expect(g.issues).toEqual([expect.objectContaining({ level: 'error', source: 'guest', line: 16 })]);
  });
});

const QEMU = [
  '18730@1795437676.458729:vtd_reg_dmar_root addr 0x291d000 scalable 1',
  '18730@1795437676.485239:vtd_dmar_enable enable 1',
  '18730@1795437676.475848:vtd_inv_desc_cc_devices context invalidate devices sid 0x18 fmask 0x0',
  '18730@1795437676.475851:vtd_inv_desc_cc_device context invalidate device 00:03.00',
  '18730@1795437676.475865:vtd_inv_desc_iotlb_domain iotlb invalidate whole domain 0x3',
  '18728@1795437676.476000:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x4 addr 0xfffc0000 mask 0x4',
  '18730@1795437676.476100:vtd_inv_desc_iotlb_global iotlb invalidate global',
  '18728@1795437677.634554:pci_nvme_read cid 707 nsid 1 nlb 8 count 4096 lba 0x1f020',
  '18730@1795437680.098793:vtd_iotlb_page_update IOTLB page update sid 0x18 iova 0xffefcc02 slpte 0x365e5001 domain 0x3',
  '18728@1795437680.098794:vtd_iotlb_cc_hit IOTLB context hit bus 0x0 devfn 0x20 high 0x0 low 0x2923401 gen 1',
  '18730@1795437680.098813:vtd_dmar_translate dev 00:03.00 iova 0xffefc000 -> gpa 0x365e5000 mask 0xfff',
  '18730@1795437683.097302:vtd_dmar_fault sid 0x18 fault 6 addr 0xfffff004 write 0',
  '18730@1795437683.097304:vtd_frr_new index 0 high 0x4000000680000018 low 0xfffff000',
  '18730@1795437683.097340:vtd_dmar_fault sid 0x18 fault 5 addr 0xfffff00c write 1',
  '18730@1795437683.097341:vtd_inv_desc_iotlb_pages iotlb invalidate domain 0x3 addr strange',
].join('\n');

describe('QEMU trace reader', () => {
  it('collects translations with their IOTLB line, faults, records, invalidations and markers', () => {
    const q = readCapture('qemu', 'trace', QEMU);
    expect(q.lines).toBe(15);
    const types = q.events.map((e) => `${e.line}:${e.type}`);
    expect(types).toEqual([
      '1:root',
      '2:enable',
      '4:cc-inv',
      '5:iotlb-inv',
      '6:iotlb-inv',
      '7:iotlb-inv',
      '11:translation',
      '12:fault',
      '13:frr',
      '14:fault',
    ]);
    expect(q.events[0]).toMatchObject({ type: 'root', scalable: true, addr: 0x291d000n });
    expect(q.events[2]).toMatchObject({ scope: 'device', sid: 0x18 });
    expect(q.events[3]).toMatchObject({ scope: 'domain', did: 3 });
    expect(q.events[4]).toMatchObject({ scope: 'page', did: 4, addr: 0xfffc0000n, am: 4 });
    expect(q.events[5]).toMatchObject({ scope: 'global', did: null });
    expect(q.events[6]).toMatchObject({
      type: 'translation',
      sid: 0x18,
      bdf: '0000:00:03.0',
      iova: 0xffefc000n,
      gpa: 0x365e5000n,
      mask: 0xfffn,
      addr: 0xffefcc02n,
      pte: 0x365e5001n,
      domain: 3,
      result: 'miss',
    });
    expect(q.events[7]).toMatchObject({
      type: 'fault',
      sid: 0x18,
      reason: 6,
      addr: 0xfffff004n,
      write: false,
    });
    expect(q.events[8]).toMatchObject({ type: 'frr', index: 0, high: 0x4000000680000018n, low: 0xfffff000n });
    expect(q.events[9]).toMatchObject({ type: 'fault', reason: 5, write: true });
    expect(q.nvmeReads).toEqual([{ line: 8, time: 1795437677.634554, lba: 0x1f020 }]);
    expect(q.pteNames).toEqual(['slpte']);
    // a vtd_* line whose arguments this QEMU does not print: a warning, not a guess
    expect(q.issues).toEqual([expect.objectContaining({ level: 'warning', line: 15 })]);
  });

  it('names a guest console given where the QEMU trace belongs', () => {
    const q = readCapture('qemu', 'console', GUEST);
    expect(q.events).toEqual([]);
    expect(q.issues[0]).toMatchObject({
      level: 'error',
      message: expect.stringMatching(/arguments swapped/),
    });
  });
});
