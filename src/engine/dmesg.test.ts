import { describe, expect, it } from 'vitest';
import { dmarFaultLine } from './dmesg';

describe('dmarFaultLine', () => {
  it('matches the line Linux prints for a write fault without PASID', () => {
    // Example from the shared reference §2.4 (a real i915 fault).
    expect(
      dmarFaultLine({ requesterId: 0x0010, pasid: null, write: true, addressHex: '6df084000', reason: 5 }),
    ).toBe(
      'DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x6df084000 [fault reason 0x05] PTE Write access is not set',
    );
  });
  it('prints a read fault with a PASID in hex', () => {
    expect(
      dmarFaultLine({ requesterId: 0x0600, pasid: 0x2a, write: false, addressHex: '1000', reason: 6 }),
    ).toBe(
      'DMAR: [DMA Read PASID 0x2a] Request device [06:00.0] fault addr 0x1000 [fault reason 0x06] PTE Read access is not set',
    );
  });
});
