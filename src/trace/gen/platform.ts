// The sample platform a generated trace embeds when none is given: `devices` single-function
// root-complex integrated endpoints, 32 per root bus (00:00.0, 00:01.0, … 00:1f.0, 01:00.0, …), each in
// an IOMMU group of its own, all translated by one INCLUDE_PCI_ALL VT-d unit with 4-level (48-bit)
// second-level tables and no superpages. With PASIDs the unit is in scalable mode with 20-bit PASIDs
// and every device has a 20-bit PASID capability; without, it is in legacy mode. The kernel default
// domain is DMA-FQ (lazy IOTLB invalidation, the x86 default). No RMRRs, no memory map, no TEE-IO
// split. Pure: returns the platform's JSON object (docs/platform-format.md).

export const MAX_SAMPLE_DEVICES = 256 * 32;

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The BDF of sample device i. */
export function sampleDeviceBdf(i: number): string {
  return `0000:${hex2(i >>> 5)}:${hex2(i & 31)}.0`;
}

export function samplePlatform(devices: number, pasids: boolean): Record<string, unknown> {
  if (!Number.isInteger(devices) || devices < 1 || devices > MAX_SAMPLE_DEVICES) {
    throw new RangeError(`devices: ${devices} is not 1..${MAX_SAMPLE_DEVICES}`);
  }
  const list: Record<string, unknown>[] = [];
  for (let i = 0; i < devices; i++) {
    list.push({
      bdf: sampleDeviceBdf(i),
      name: `Synthetic DMA engine ${i}`,
      class: '088000',
      ids: '1af4:1110',
      kind: 'rciep',
      parent: null,
      ...(pasids ? { pasidWidth: 20 } : {}),
    });
  }
  return {
    format: 'iommu-lab/platform',
    version: 1,
    name: `Synthetic platform (${devices} device${devices === 1 ? '' : 's'})`,
    description:
      'Written by iommu-lab gen: root-complex integrated endpoints, one IOMMU group each, one INCLUDE_PCI_ALL VT-d unit.',
    segments: [{ segment: 0, busStart: '0x00', busEnd: '0xff' }],
    devices: list,
    iommus: [
      {
        id: 'dmar0',
        segment: 0,
        registerBase: '0xfed90000',
        includeAll: true,
        mode: pasids ? 'scalable' : 'legacy',
        capabilities: {
          slLevels: [4],
          mgaw: 48,
          haw: 46,
          superpages: [],
          passThrough: true,
          ...(pasids ? { scalableMode: true, pasidBits: 20 } : {}),
        },
      },
    ],
    kernel: { defaultDomain: 'dma-fq' },
  };
}
