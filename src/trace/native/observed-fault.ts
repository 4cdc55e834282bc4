// An observed fault in a native trace's control section: a fault the hardware (or QEMU's model of it)
// reported and a log recorded, as the importers read it (src/trace/import/types.ts ObservedFault),
// carried at its time among the TLP records so that a replay can say where the model and the real
// kernel agree. It is not a control-script event: it changes nothing in the model, `iommu-lab run`
// does not know it, and a replay lists it apart. Addresses are "0x…" hex strings (64-bit values never
// lose bits). See docs/trace-format.md, "Observed faults".
import { z } from 'zod';
import type { ControlEvent } from '../control-script';

export const OBSERVED_FAULT_OP = 'observed_fault';

export const observedFaultEventSchema = z
  .object({
    op: z.literal(OBSERVED_FAULT_OP),
    /** the IOMMU family that reported it */
    source: z.enum(['intel', 'amd', 'smmu']),
    /** what printed it: the Linux driver, QEMU's model, or Xen */
    origin: z.enum(['linux', 'qemu', 'xen']),
    /** the printed variant, e.g. "dmar-2021" (docs/import-json.md) */
    format: z.string(),
    segment: z.number().int().min(0).max(0xffff).nullable(),
    /** "SSSS:BB:DD.F", or null when the line printed only a source id */
    bdf: z.string().nullable(),
    /** requester ID (Intel, AMD) or StreamID (SMMU), when printed */
    sid: z.number().int().min(0).nullable(),
    pasid: z.number().int().min(0).max(0xfffff).nullable(),
    access: z.enum(['read', 'write', 'exec', 'interrupt', 'translation', 'unknown']),
    /** faulting address as printed (Intel prints the page), null for interrupt-remapping faults */
    address: z
      .string()
      .regex(/^0x[0-9a-f]{1,16}$/i)
      .nullable(),
    /** Intel: the VT-d fault reason; AMD: the event type code; SMMU: the event id or FSR */
    reason: z.number().int().min(0),
    reasonText: z.string(),
    /** the line of the file it was imported from, and its time as printed there */
    line: z.number().int().min(1).optional(),
    timeRaw: z.string().nullable().optional(),
  })
  .strict();

export type ObservedFaultEvent = z.output<typeof observedFaultEventSchema>;

/** What a native trace's control section carries: control-script events and observed faults. */
export type TraceControlEvent = ControlEvent | ObservedFaultEvent;

export function isObservedFault(e: TraceControlEvent): e is ObservedFaultEvent {
  return e.op === OBSERVED_FAULT_OP;
}
