// The requester IDs a function's DMA may arrive with (drivers/pci/search.c pci_for_each_dma_alias):
// its own, its explicit alias quirks (pci_add_dma_alias), and, walking up to the root bus, the ID
// each bridge substitutes: a PCIe-to-PCI bridge uses (secondary bus, devfn 0), a conventional
// PCI-to-PCI bridge its own ID; root and switch ports substitute nothing. The intel-iommu driver
// programs a context entry for every one of them (domain_context_mapping).
import type { PciFunction, Platform } from './model';
import { upstreamOf } from './topology';

export function dmaAliasRids(platform: Platform, fn: PciFunction): number[] {
  const rids = [fn.requesterId];
  for (const devfn of fn.dmaAliasDevfns) rids.push((fn.bdf.bus << 8) | devfn);
  for (let self = upstreamOf(platform, fn); self; self = upstreamOf(platform, self)) {
    if (self.isPcie) {
      if (self.kind === 'pcie-to-pci-bridge') rids.push(self.secondaryBus! << 8);
    } else if (self.isBridge) {
      rids.push(self.requesterId);
    }
  }
  return [...new Set(rids)];
}
