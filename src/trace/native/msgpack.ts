// The one msgpackr codec of the native trace format, for its header and its control events. Plain
// MessagePack maps (useRecords: false): records would make each chunk depend on structures defined
// in an earlier one, so a chunk could no longer be decoded on its own after a seek or a skip, and
// other MessagePack readers could not read the file. Values are JSON-like (u64 fields are hex
// strings), so no msgpackr extension is needed.
import { Packr } from 'msgpackr';

export const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** A copy of the encoding of v (msgpackr may reuse its buffer on the next call). */
export function pack(v: unknown): Uint8Array {
  return Uint8Array.from(packr.pack(v));
}
