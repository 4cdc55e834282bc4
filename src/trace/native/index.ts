// The native trace format's public surface (docs/trace-format.md): the fixed-size TLP record, the
// streaming encoder and decoder, and the pieces a random-access reader needs (chunk header and
// payload decoding, footer index, trailer). Pure: works on Uint8Array pieces, no I/O.
export * from './tlp-record';
export {
  NATIVE_TRACE_FORMAT,
  nativeHeaderSchema,
  type NativeTraceHeader,
  type CaptureMetadata,
  type TimeBase,
} from './header';
export { decodeHeadRegion, parsePreamble } from './header';
export type { ControlEntry } from './control';
export {
  isObservedFault,
  OBSERVED_FAULT_OP,
  observedFaultEventSchema,
  type ObservedFaultEvent,
  type TraceControlEvent,
} from './observed-fault';
export {
  decodeChunkPayload,
  firstRecordAtOrAfter,
  parseChunkHeader,
  payloadBytes,
  visitChunk,
  type ChunkHeader,
  type DecodedChunk,
} from './chunk';
export {
  ChunkIndex,
  firstChunkEndingAtOrAfter,
  footerBytes,
  parseFooterHeader,
  parseIndexEntry,
  parseTrailer,
  type IndexEntry,
} from './footer';
export { NativeTraceEncoder, type EncoderOptions, type EncoderTotals } from './writer';
export { NativeTraceDecoder, type DecodedItem, type TraceProblem } from './reader';
export {
  CHUNK_HEADER_BYTES,
  FILE_MAGIC,
  FOOTER_HEADER_BYTES,
  FORMAT_VERSION,
  INDEX_ENTRY_BYTES,
  PREAMBLE_BYTES,
  TRAILER_BYTES,
} from './layout';
