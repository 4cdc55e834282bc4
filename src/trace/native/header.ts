// The head of a native trace file: a versioned magic, then a msgpackr-encoded header carrying the
// embedded platform description (the JSON object of docs/platform-format.md), capture metadata and
// the time base, then a CRC-32 of the header. Layout (little-endian):
//
//   0   8  magic "\x89IOMMU\r\n"
//   8   4  format version (1)
//   12  4  L, the header's length in bytes
//   16  L  the header, one MessagePack map
//   16+L 4 CRC-32 of bytes 8 .. 16+L (version, length and header)
//
// decodeHeadRegion never throws: a bad magic, a damaged length or CRC, or an invalid header is a
// message, and the reader goes on looking for chunks. Only an intact header of another version stops
// it (fatal). See docs/trace-format.md.
import { z } from 'zod';
import { crc32 } from './crc';
import { FILE_MAGIC, FORMAT_VERSION, getU32, MAX_HEADER_BYTES, PREAMBLE_BYTES, putU32 } from './layout';
import { pack, packr } from './msgpack';

export const NATIVE_TRACE_FORMAT = 'iommu-lab/trace';

const captureSchema = z
  .object({
    /** free text */
    description: z.string().optional(),
    /** what captured the traffic: analyzer, firmware log, tool and version */
    tool: z.string().optional(),
    /** the file this trace was converted from */
    source: z.string().optional(),
    /** the machine the traffic was captured on */
    host: z.string().optional(),
    /** wall-clock start of the capture, ISO 8601 */
    startedAt: z.string().optional(),
    /** a synthetic trace: the generator's seed and parameters and what a replay must find */
    generator: z
      .object({
        seed: z.number().int().min(0),
        parameters: z.record(z.string(), z.number()),
        /** by construction, under the default --iotlb hardware: TLP records, control events, faults, hazards */
        expected: z
          .object({
            tlps: z.number().int().min(0),
            controls: z.number().int().min(0),
            faults: z.number().int().min(0),
            hazards: z.number().int().min(0),
          })
          .strict(),
      })
      .strict()
      .optional(),
  })
  .strict();

const timeBaseSchema = z
  .object({
    /** every time in the file is an integer number of nanoseconds */
    unit: z.literal('ns'),
    /** wall-clock instant of time 0, ISO 8601, when known */
    origin: z.string().optional(),
    /** the clock the times come from, e.g. "analyzer", "TSC", "PTM" */
    clock: z.string().optional(),
  })
  .strict();

export const nativeHeaderSchema = z
  .object({
    format: z.literal(NATIVE_TRACE_FORMAT),
    version: z.literal(FORMAT_VERSION),
    /** the platform description JSON object (docs/platform-format.md), or null when not embedded */
    platform: z.record(z.string(), z.unknown()).nullable(),
    capture: captureSchema,
    timeBase: timeBaseSchema,
  })
  .strict();

export type NativeTraceHeader = z.output<typeof nativeHeaderSchema>;
export type CaptureMetadata = NativeTraceHeader['capture'];
export type TimeBase = NativeTraceHeader['timeBase'];

/** Encodes the head region (magic to CRC). Throws on an invalid header: that is the caller's bug. */
export function encodeHeadRegion(header: NativeTraceHeader): Uint8Array {
  const body = pack(nativeHeaderSchema.parse(header));
  if (body.length > MAX_HEADER_BYTES) throw new RangeError(`header of ${body.length} bytes is too large`);
  const out = new Uint8Array(PREAMBLE_BYTES + body.length + 4);
  out.set(FILE_MAGIC, 0);
  putU32(out, 8, FORMAT_VERSION);
  putU32(out, 12, body.length);
  out.set(body, PREAMBLE_BYTES);
  putU32(out, PREAMBLE_BYTES + body.length, crc32(out, 8, PREAMBLE_BYTES + body.length));
  return out;
}

export type Preamble = { ok: true; headRegionBytes: number } | { ok: false; message: string };

/** Reads the first PREAMBLE_BYTES bytes: how long the head region is. */
export function parsePreamble(b: Uint8Array): Preamble {
  for (let i = 0; i < FILE_MAGIC.length; i++) {
    if (b[i] !== FILE_MAGIC[i]) return { ok: false, message: 'bad magic: not an IOMMU Lab native trace' };
  }
  const len = getU32(b, 12);
  if (len > MAX_HEADER_BYTES) return { ok: false, message: `damaged header: length ${len} is too large` };
  return { ok: true, headRegionBytes: PREAMBLE_BYTES + len + 4 };
}

export type HeadResult =
  | { ok: true; header: NativeTraceHeader }
  | {
      ok: false;
      message: string;
      /** the CRC matched: the region's length can be trusted, the body starts right after it */
      intact: boolean;
      /** an intact header of another version: stop reading */
      fatal: boolean;
    };

/** Decodes the whole head region (its length from parsePreamble). */
export function decodeHeadRegion(b: Uint8Array): HeadResult {
  const end = b.length - 4;
  if (end < PREAMBLE_BYTES) return { ok: false, message: 'truncated header', intact: false, fatal: false };
  if (crc32(b, 8, end) !== getU32(b, end)) {
    return { ok: false, message: 'damaged header: CRC mismatch', intact: false, fatal: false };
  }
  const version = getU32(b, 8);
  if (version !== FORMAT_VERSION) {
    return {
      ok: false,
      message: `unsupported format version ${version} (this reader knows ${FORMAT_VERSION})`,
      intact: true,
      fatal: true,
    };
  }
  let json: unknown;
  try {
    json = packr.unpack(b.subarray(PREAMBLE_BYTES, end));
  } catch (e) {
    return { ok: false, message: `invalid header: ${(e as Error).message}`, intact: true, fatal: false };
  }
  const r = nativeHeaderSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return {
      ok: false,
      message: `invalid header: ${i.path.join('.')}: ${i.message}`,
      intact: true,
      fatal: false,
    };
  }
  return { ok: true, header: r.data };
}
