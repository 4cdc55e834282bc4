// Read-only views of a replay's state at its current time, for the lab's panes (platform tree,
// address-space map, page walks, fault details, control-event markers). One function per view, each
// in its own module beside this one, registered in VIEWS below. A view never changes the model: it
// reads the Replay, its lab and the structures in physical memory (a walk here is the software walk
// of the same tables, not a translation, so caches, fault registers and counts are untouched).
// The same call runs in the engine worker (native traces) and in the host's thread (text traces);
// results must survive structured cloning (plain objects, arrays, typed arrays).
import type { FaultTimeLog } from '../../report/fault-times';
import type { ControlStep, Replay } from '../replay';
import { addressSpaceView } from './address-space';
import { controlsView } from './controls';
import { faultDetailsView } from './fault-details';
import { faultDensityView } from './fault-density';
import { platformTree } from './platform-tree';
import { walkView } from './walk';

export interface InspectContext {
  replay: Replay;
  /** the control events applied so far, in order */
  controls: readonly ControlStep[];
  /**
   * the times of the faults so far, where the Replay's own list is folded away (the engine worker):
   * the log and the count of faults so far
   */
  faultTimes?: { log: FaultTimeLog; count: number };
}

/** A request for one view: `view` names it, the other fields are its parameters. */
export interface InspectQuery {
  view: string;
  [param: string]: unknown;
}

/** Thrown for a query a view cannot answer (unknown device, bad address…): the host maps it to EINVAL. */
export class InspectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InspectError';
  }
}

type View = (ctx: InspectContext, query: InspectQuery) => unknown;

/** The views, by name. */
const VIEWS: Record<string, View> = {
  /** one device's (or PASID's) mapped ranges, reserved regions, TEE-IO boundary, fault marks */
  addressSpace: addressSpaceView,
  /** the page walk of one request on the tables now, every entry decoded */
  walk: walkView,
  /** one fault's walk, domain state and root-cause hint (the host passes the fault row) */
  faultDetails: faultDetailsView,
  /** control events applied so far as timeline markers, sampled to `max` */
  controls: controlsView,
  /** faults so far by time bucket: `start`, `end`, `buckets` */
  faultDensity: faultDensityView,
  /** where the replay stands: its time and how much it has applied */
  clock: ({ replay, controls }) => ({ time: replay.time, tlps: replay.tlps, controls: controls.length }),
  /** units → groups → devices → PASIDs, with domains, owners, reserved regions and TDISP states */
  platformTree: ({ replay }) => platformTree(replay),
};

/** Answers one query against the replay's current state. */
export function inspect(ctx: InspectContext, query: InspectQuery): unknown {
  const view = Object.hasOwn(VIEWS, query.view) ? VIEWS[query.view] : undefined;
  if (!view) throw new InspectError(`unknown view ${JSON.stringify(query.view)}`);
  return view(ctx, query);
}
