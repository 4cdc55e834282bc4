// Renders a DMA-remapping fault as the line Linux prints (drivers/iommu/intel/dmar.c dmar_fault_do_one,
// with pr_fmt "DMAR: "), so a report reads like what engineers see in dmesg:
//   DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x6df084000 [fault reason 0x05] PTE Write access is not set
import { formatBusDevFn, ridToBdf } from './bdf';
import { faultReasonText } from './fault-reason';

export interface DmarFaultLine {
  requesterId: number;
  /** null when the request carried no PASID */
  pasid: number | null;
  write: boolean;
  /** fault address as printed: the page address (FRCD.FI keeps bits 63:12) */
  addressHex: string;
  reason: number;
}

export function dmarFaultLine(f: DmarFaultLine): string {
  const type = f.write ? 'DMA Write' : 'DMA Read';
  const pasid = f.pasid === null ? 'NO_PASID' : `PASID 0x${f.pasid.toString(16)}`;
  const dev = formatBusDevFn(ridToBdf(0, f.requesterId));
  const reason = f.reason.toString(16).padStart(2, '0');
  return `DMAR: [${type} ${pasid}] Request device [${dev}] fault addr 0x${f.addressHex} [fault reason 0x${reason}] ${faultReasonText(f.reason)}`;
}
