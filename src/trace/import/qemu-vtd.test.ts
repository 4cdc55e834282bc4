// QEMU vtd_* trace events and error reports: real lines from the reference samples (file named in each
// test), expected fields written out by hand.
import { describe, expect, it } from 'vitest';
import { importText } from './session';

describe('QEMU vtd_* traces', () => {
  it('a DMA fault and a translation with the IOTLB line before it (qemu-real-scalable/qemu-trace.log.gz)', () => {
    const r = importText(
      [
        '18728@1795437677.570864:vtd_iotlb_page_update IOTLB page update sid 0x20 iova 0xffffe040 slpte 0x395e0003 domain 0x4',
        '18728@1795437677.570866:vtd_dmar_translate dev 00:04.00 iova 0xffffe000 -> gpa 0x395e0000 mask 0xfff',
        '18730@1795437683.097302:vtd_dmar_fault sid 0x18 fault 6 addr 0xfffff000 write 0',
        '18730@1795437683.097304:vtd_frr_new index 0 high 0x4000000680000018 low 0xfffff000',
        "18728@1795437673.018251:pci_nvme_admin_cmd cid 0 sqid 0 opc 0x6 opname 'NVME_ADM_CMD_IDENTIFY'",
      ].join('\n'),
      { kind: 'qemu-trace' },
    );
    expect(r.counts.records).toMatchObject({ translation: 1, fault: 1, info: 2 });
    expect(r.counts.ignored).toBe(1);
    expect(r.records.find((x) => x.type === 'translation')).toMatchObject({
      sid: 0x20,
      bdf: '0000:00:04.0',
      pasid: null,
      iova: '0xffffe000',
      gpa: '0x395e0000',
      mask: '0xfff',
      accessAddress: '0xffffe040',
      pte: '0x395e0003',
      perms: 'rw',
      domain: 4,
      result: 'miss',
      time: 1795437677.570866,
      clock: 'epoch',
      line: 2,
    });
    expect(r.records.find((x) => x.type === 'fault')).toMatchObject({
      source: 'intel',
      origin: 'qemu',
      format: 'qemu-vtd_dmar_fault',
      bdf: '0000:00:03.0',
      sid: 0x18,
      access: 'read',
      address: '0xfffff000',
      reason: 6,
      reasonText: 'PTE Read access is not set',
    });
    expect(r.records.find((x) => x.type === 'info' && x.what === 'vtd_frr_new')).toMatchObject({
      fields: { index: 0, sid: 0x18, reason: 6, read: true, pasid: 0, low: '0xfffff000' },
    });
  });

  it('rejoins a mail-quoted, wrapped trace with QEMU 7.x "pasid" translations and stderr reports (qemu-trace-vtd-dmar-fault-and-translate-simpletrace-emailwrapped.txt)', () => {
    const r = importText(
      [
        '> > 2023-02-13T07:02:37.074397Z qemu-system-x86_64: vtd_iova_to_slpte:',
        '> > detected slpte permission error (iova=0x1187a9000, level=0x3,',
        '> > slpte=0x0, write=0, pasid=0xffffffff)',
        '> > 236498@1676271757.075075:vtd_dmar_fault sid 0xb00 fault 6 addr',
        '> > 0x1187a9000 write 0',
        '> > 2023-02-13T07:02:37.075174Z qemu-system-x86_64: vtd_iommu_translate:',
        '> > detected translation failure (dev=0b:00:00, iova=0x1187a9000)',
        '> >',
        '> > 278365@1676297375.587477:vtd_dmar_slpte sid 0xb00 slpte 0x1f2556003',
        '> > addr 0x800000000 write 0',
        '> > 278365@1676297375.587513:vtd_dmar_translate pasid 0xffffffff: dev',
        '> > 0b:00.00 iova 0x800000000 -> gpa 0x1f2556000 mask 0xfff',
      ].join('\n'),
      { kind: 'qemu-trace' },
    );
    expect(r.counts.bad).toBe(0);
    const types = r.records.map((x) => x.type);
    expect(types).toEqual(['info', 'fault', 'info', 'info', 'translation']);
    expect(r.records[0]).toMatchObject({
      what: 'qemu-report',
      fields: {
        function: 'vtd_iova_to_slpte',
        error: 'slpte permission error',
        iova: '0x1187a9000',
        level: 3,
        write: false,
      },
      time: 1676271757.074397,
      clock: 'wall',
      line: 1,
    });
    expect(r.records[1]).toMatchObject({
      bdf: '0000:0b:00.0',
      address: '0x1187a9000',
      reason: 6,
      line: 4,
      time: 1676271757.075075,
    });
    expect(r.records[2]).toMatchObject({
      fields: { error: 'translation failure', bdf: '0000:0b:00.0', iova: '0x1187a9000' },
    });
    expect(r.records[4]).toMatchObject({
      bdf: '0000:0b:00.0',
      pasid: null,
      iova: '0x800000000',
      gpa: '0x1f2556000',
      pte: '0x1f2556003',
      perms: 'rw',
      write: false,
      line: 11,
    });
  });
});
