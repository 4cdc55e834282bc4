// Opening a native trace for replay: recognise it by its magic, read its header and index, and settle
// its platform (the one given with --platform, else the one embedded in the header) and its profile.
import { open, readFile } from 'node:fs/promises';
import { loadPlatform, type Platform } from '../../engine/platform/index';
import type { FaultProfile } from '../../engine/vtd/translate';
import { encodeHeadRegion } from '../../trace/native/header';
import {
  FILE_MAGIC,
  FOOTER_HEADER_BYTES,
  INDEX_ENTRY_BYTES,
  parseIndexEntry,
  parsePreamble,
  parseTrailer,
  PREAMBLE_BYTES,
  TRAILER_BYTES,
  type NativeTraceHeader,
  type TraceProblem,
} from '../../trace/native/index';
import { InputError } from '../inputs';
import { NativeTraceFile } from '../trace-file';

/** True when the bytes start with the native trace magic ("\x89IOMMU\r\n"). */
export function hasNativeMagic(head: Uint8Array): boolean {
  if (head.length < FILE_MAGIC.length) return false;
  for (let i = 0; i < FILE_MAGIC.length; i++) if (head[i] !== FILE_MAGIC[i]) return false;
  return true;
}

/** True when the file at `path` is a native trace (by its first 8 bytes). */
export async function isNativeTrace(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(FILE_MAGIC.length);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return hasNativeMagic(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface NativeInput {
  path: string;
  header: NativeTraceHeader | null;
  /** magic to header CRC: the decoder worker reads it before the first chunk of each run */
  headRegion: Uint8Array;
  /** file offset of the first chunk (where a replay starts reading) */
  firstChunkOffset: number;
  platform: Platform;
  platformJson: Record<string, unknown>;
  /** the --platform file, or null when the embedded platform is used */
  platformFile: string | null;
  records: number;
  chunks: number;
  /** time of the trace's last record or event */
  endTime: number;
  /** problems found while opening (a missing footer, a damaged header…) */
  problems: TraceProblem[];
  /** qemu-7.2 when the capture comes from QEMU (capture.tool starts with "qemu"), else vtd-spec */
  autoProfile: FaultProfile;
}

/**
 * Records, last time and first chunk offset from the index: the footer read in one piece when it is
 * intact, else entry by entry (NativeTraceFile rebuilds a damaged index by scanning).
 */
async function indexTotals(
  path: string,
  f: NativeTraceFile,
): Promise<{ records: number; endTime: number; firstChunkOffset: number }> {
  let records = 0;
  let endTime = 0;
  const n = f.chunkCount;
  if (n === 0) return { records, endTime, firstChunkOffset: f.size };
  if (f.indexSource === 'footer') {
    const fh = await open(path, 'r');
    try {
      const trailer = new Uint8Array(TRAILER_BYTES);
      await fh.read(trailer, 0, TRAILER_BYTES, f.size - TRAILER_BYTES);
      const footer = parseTrailer(trailer, 0);
      if (typeof footer === 'number') {
        const b = new Uint8Array(n * INDEX_ENTRY_BYTES);
        const { bytesRead } = await fh.read(b, 0, b.length, footer + FOOTER_HEADER_BYTES);
        let first = -1;
        let ok = bytesRead === b.length;
        for (let i = 0; ok && i < n; i++) {
          const e = parseIndexEntry(b, i * INDEX_ENTRY_BYTES);
          if (typeof e === 'string') ok = false;
          else {
            if (i === 0) first = e.offset;
            records += e.recordCount;
            endTime = Math.max(endTime, e.lastTime);
          }
        }
        if (ok) return { records, endTime, firstChunkOffset: first };
        records = endTime = 0;
      }
    } finally {
      await fh.close();
    }
  }
  for (let i = 0; i < f.chunkCount; i++) {
    const e = await f.entry(i);
    records += e.recordCount;
    endTime = Math.max(endTime, e.lastTime);
  }
  return { records, endTime, firstChunkOffset: f.chunkCount ? (await f.entry(0)).offset : f.size };
}

/** Opens a native trace; throws InputError when it cannot be replayed (no platform, unreadable). */
export async function openNativeInput(
  path: string,
  platformFile?: string,
  /** a platform to use instead of the embedded one (the session's, opened by the user) */
  platformOverride?: { json: Record<string, unknown>; name: string },
): Promise<NativeInput> {
  let f: NativeTraceFile;
  try {
    f = await NativeTraceFile.open(path);
  } catch (e) {
    throw new InputError([{ file: path, where: 'open', message: (e as Error).message }]);
  }
  try {
    const { records, endTime, firstChunkOffset } = await indexTotals(path, f);
    // The decoder worker reads this before the chunks of each run: the file's own head region when
    // it is intact, else a minimal one (the damage is reported here, once).
    let headRegion = encodeHeadRegion({
      format: 'iommu-lab/trace',
      version: 1,
      platform: null,
      capture: {},
      timeBase: { unit: 'ns' },
    });
    if (f.header) {
      const fh = await open(path, 'r');
      try {
        const pre = new Uint8Array(PREAMBLE_BYTES);
        await fh.read(pre, 0, pre.length, 0);
        const p = parsePreamble(pre);
        if (p.ok) {
          headRegion = new Uint8Array(p.headRegionBytes);
          await fh.read(headRegion, 0, headRegion.length, 0);
        }
      } finally {
        await fh.close();
      }
    }
    let platformJson: Record<string, unknown> | null = platformOverride?.json ?? f.header?.platform ?? null;
    let source = platformOverride ? platformOverride.name : `${path}: header.platform`;
    if (platformFile !== undefined) {
      try {
        platformJson = JSON.parse(await readFile(platformFile, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new InputError([{ file: platformFile, where: 'open', message: (e as Error).message }]);
      }
      source = platformFile;
    }
    if (!platformJson) {
      throw new InputError([
        {
          file: path,
          where: 'header.platform',
          message: 'no platform: the trace embeds none, give one with --platform FILE',
        },
      ]);
    }
    const loaded = loadPlatform(platformJson);
    if (!loaded.ok) {
      throw new InputError(loaded.errors.map((e) => ({ file: source, where: e.path, message: e.message })));
    }
    const tool = f.header?.capture.tool ?? '';
    return {
      path,
      header: f.header,
      headRegion,
      firstChunkOffset,
      platform: loaded.value,
      platformJson,
      platformFile: platformFile ?? null,
      records,
      chunks: f.chunkCount,
      endTime,
      problems: [...f.problems],
      autoProfile: /^qemu/i.test(tool) ? 'qemu-7.2' : 'vtd-spec',
    };
  } finally {
    await f.close();
  }
}
