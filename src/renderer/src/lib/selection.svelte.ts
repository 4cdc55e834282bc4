// What the user has selected, shared by the panes: the device (and PASID) whose address space is shown,
// the fault (or hazard) whose details are shown, and the fault filter. Panes read and set it; none
// computes from it.
export const selection = $state({
  /** segment:bus:dev.fn of the selected device, or null */
  bdf: null as string | null,
  /** the selected PASID of that device, or null for requests without PASID */
  pasid: null as number | null,
  /** index of the selected fault row (its trace order), or null */
  faultIndex: null as number | null,
  /** index among hazards of the selected use-after-unmap hazard, shown when no fault is selected */
  hazardIndex: null as number | null,
  /** the fault table's filter expression */
  filter: '',
});
