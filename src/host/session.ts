// One user's lab session: the opened files, the platform, the trace and its player. Implements the
// API contract (src/shared/api.ts) for both transports; knows nothing about IPC or WebSockets.
// Text traces (JSON lines) play in this thread (player.ts); native traces play in the worker player
// (src/host/replay: a decoder and an engine worker joined by a SharedArrayBuffer ring), whose
// snapshots reach the renderer as 'stats' events at most 30 times a second, with typed-array
// aggregates. A native trace uses the platform it embeds, unless the user opened a platform file
// themselves. Uploaded native traces are written to a temporary file first (the player streams it).
// Firmware tables and lspci output build the platform (firmware-files.ts); kernel logs, ftrace, QEMU
// traces and analyzer CSVs are imported into a native trace first (import-capture.ts), as a task with
// progress events that cancelTask stops (tasks.ts), leaving the session as it was. Paths the user
// opens are kept in the recent-files list (recent-files.ts).
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { crosscheckTexts } from '../crosscheck/index';
import { version } from '../../package.json';
import { faultMarksFromRanges } from '../engine/inspect/address-space';
import type { FaultContext } from '../engine/inspect/fault-details';
import { InspectError, type InspectQuery } from '../engine/inspect/index';
import type { Platform } from '../engine/platform/index';
import { buildLab, type PlatformLab } from '../engine/lab';
import { FilterError } from '../query/filter';
import { ColorRuleError, type FaultQuery } from '../query/query';
import { rowOf } from '../query/row-of';
import type { ReplayEvent } from '../engine/replay';
import { faultRowsCsv } from '../report/fault-rows-csv';
import { deviceSummaries } from '../report/summary';
import {
  ApiError,
  API_VERSION,
  type AddressSpaceView,
  type ApiHandlers,
  type DeviceSummary,
  type EventSink,
  type FaultDetails,
  type FaultRow,
  type HostInfo,
  type OpenedFile,
  type PlatformTreeView,
  type ReplayStats,
  type TimelineView,
  type WalkView,
} from '../shared/api';
import type { FirmwareInput } from '../firmware/index';
import type { ImportKind } from '../trace/import/index';
import { HEAD_BYTES, sniff, type Sniffed } from './file-sniff';
import { firmwareState } from './firmware-files';
import { importCapture } from './import-capture';
import { ImportFileError } from './import-file';
import { decodeInput, InputError, readInput, type LoadedInput } from './inputs';
import { RecentFilesStore } from './recent-files';
import { Tasks } from './tasks';
import { Player } from './player';
import { ReplayRows } from './replay/fault-store';
import { clusterRows } from './replay/fault-store-clusters';
import { openNativeInput } from './replay/native-input';
import { Backfill } from './replay/backfill';
import { WorkerPlayer, type WorkerPlayerOptions } from './replay/worker-player';
import { SessionReports, type PdfMaker } from './session-reports';
import { nativeTlpDensity, textTlpDensity } from './timeline-source';

export const LAB_VERSION: string = version;

const EMPTY_STATS: ReplayStats = {
  status: 'empty',
  time: 0,
  endTime: 0,
  eventsApplied: 0,
  eventsTotal: 0,
  tlps: 0,
  faults: 0,
  speed: 0,
  profile: 'vtd-spec',
};

/** What the session needs of a player, whichever kind. */
interface SessionPlayer {
  stats(): ReplayStats;
  play(): void;
  pause(): void;
  step(count: number): void;
  seek(time: number): Promise<unknown> | void;
  setSpeed(speed: number): void;
  reset(): Promise<unknown> | void;
  devices(): DeviceSummary[];
  /** a read-only view of the state at the current time (src/engine/inspect) */
  inspect(query: InspectQuery): Promise<unknown>;
  /** the fault table: every fault and hazard so far (fault-store.ts), the rows shown, a lab for hints */
  table(): { query: FaultQuery; visible: number; lab: PlatformLab };
  dispose(): void;
}

function inThread(player: Player): SessionPlayer {
  const rows = new ReplayRows();
  return {
    stats: () => player.stats(),
    play: () => player.play(),
    pause: () => player.pause(),
    step: (n) => player.step(n),
    seek: (t) => player.seek(t),
    setSpeed: (s) => player.setSpeed(s),
    reset: () => player.reset(),
    devices: () => deviceSummaries(player.replay.lab, player.replay),
    inspect: async (q) => player.inspect(q),
    table: () => ({ query: rows.sync(player.replay), visible: Infinity, lab: player.replay.lab }),
    dispose: () => player.dispose(),
  };
}

/** A worker player; the shown one has a backfill that fills the rows its far seeks skip (backfill.ts). */
function inWorkers(player: WorkerPlayer, backfill?: Backfill): SessionPlayer {
  let lab: PlatformLab | null = null;
  return {
    stats: () => player.stats(),
    play: () => player.play(),
    pause: () => player.pause(),
    step: (n) => player.step(n),
    seek: (t) => (backfill ? backfill.around(() => player.seek(t)) : player.seek(t)),
    setSpeed: (s) => player.setSpeed(s),
    reset: () => (backfill ? backfill.around(() => player.reset()) : player.reset()),
    devices: () => player.devices,
    inspect: (q) => player.inspect(q),
    table: () => ({ ...player.table(), lab: (lab ??= buildLab(player.input.platform)) }),
    dispose: () => {
      backfill?.dispose();
      void player.dispose();
    },
  };
}

export class Session {
  private readonly files: OpenedFile[] = [];
  private platform: Platform | null = null;
  private platformJson: Record<string, unknown> | null = null;
  private platformName = '';
  /** the user opened the platform (rather than a text trace pulling in the one it names) */
  private platformOpened = false;
  private events: ReplayEvent[] = [];
  /** the native trace being played, when the trace is native */
  private nativePath: string | null = null;
  private player: SessionPlayer | null = null;
  /** a second player on the same files, seeked to the times views ask about (the shown one stays put) */
  private probe: SessionPlayer | null = null;
  /** builds a probe for the current files */
  private makeProbe: (() => Promise<SessionPlayer>) | null = null;
  private playerGeneration = 0;
  private tempDir: string | null = null;
  /** fault reports of the loaded run: export, compare, what-if (session-reports.ts) */
  private readonly reports: SessionReports;
  /** firmware files opened so far (read together: firmware-files.ts) */
  private firmware: FirmwareInput[] = [];
  /** an imported trace waiting for a platform (it embeds none and the session had none) */
  private pendingNative: string | null = null;
  private readonly tasks = new Tasks((p) => this.emit('progress', p));
  private readonly recent: RecentFilesStore;
  /** worker player options (tests: small checkpointEvery so that seeks rebuild from checkpoints) */
  private readonly workerOptions: Pick<WorkerPlayerOptions, 'checkpointEvery'>;

  constructor(
    private readonly transport: HostInfo['transport'],
    private readonly emit: EventSink,
    /** `pdf`: prints report HTML to PDF (Electron's printToPDF, or Chromium for `serve`) */
    options: {
      pdf?: PdfMaker;
      recent?: RecentFilesStore;
      worker?: Pick<WorkerPlayerOptions, 'checkpointEvery'>;
    } = {},
  ) {
    this.recent = options.recent ?? new RecentFilesStore();
    this.workerOptions = options.worker ?? {};
    this.reports = new SessionReports(
      () => ({
        generation: this.playerGeneration,
        platformJson: this.platformJson,
        platformName: this.platformName,
        platformOpened: this.platformOpened,
        nativePath: this.nativePath,
      }),
      options.pdf,
    );
  }

  /** Opens a file from disk (CLI arguments, dialogs, recent files). */
  async openPath(path: string): Promise<OpenedFile> {
    const sniffed = await sniffPath(path);
    if (sniffed.kind === 'firmware') return this.openFirmware(path, new Uint8Array(await readFile(path)));
    if (sniffed.kind === 'capture') return this.openCapture(path, path, sniffed.importKind);
    if (sniffed.kind === 'unknown') throw new ApiError('EINVAL', `${path}: ${sniffed.reason}`);
    const input = await readInput(path).catch(rethrow);
    if (input.kind === 'trace' && input.platformPath && !this.platform) {
      const plat = await readInput(input.platformPath).catch(rethrow);
      await this.accept(plat, false);
    }
    return this.accept(input, true);
  }

  /**
   * Opens a path the user chose (openFile, File ▸ Open…, the recent list) and puts it first in the
   * recent files. A missing file is dropped from them, and the error names it.
   */
  async openUserPath(path: string): Promise<OpenedFile> {
    const abs = resolve(path);
    try {
      await stat(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new ApiError('EIO', `${abs}: ${(e as Error).message}`);
      await this.recent.remove(abs).catch(() => undefined);
      throw new ApiError('ENOENT', `${abs}: no such file (removed from the recent files)`);
    }
    const file = await this.openPath(abs);
    await this.recent.add(abs, file.kind).catch(() => undefined);
    return file;
  }

  /** Firmware tables or lspci output: read with every firmware file opened before (firmware-files.ts). */
  private async openFirmware(name: string, bytes: Uint8Array): Promise<OpenedFile> {
    const inputs = [...this.firmware.filter((f) => f.file !== name), { file: name, bytes }];
    const fw = firmwareState(inputs);
    this.firmware = inputs;
    const shown: Partial<OpenedFile> = { name, kind: 'firmware', note: fw.note, findings: fw.findings };
    if (!fw.platform) {
      const file: OpenedFile = { name, kind: 'firmware', bytes: bytes.byteLength, ...shown };
      this.listFile(file);
      return file;
    }
    const { platform, json, name: platformName } = fw.platform;
    const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
    const input: LoadedInput = {
      kind: 'platform',
      name: platformName,
      bytes: bytes.byteLength,
      platform,
      json,
    };
    return this.accept(input, true, jsonBytes, shown);
  }

  /**
   * A kernel log, ftrace output, QEMU trace or analyzer CSV: imported into a native trace as a task
   * (progress events, cancelTask), then played. Cancelled or failed, the session is left as it was.
   */
  private async openCapture(path: string, name: string, kind: ImportKind | null): Promise<OpenedFile> {
    this.tempDir ??= await mkdtemp(join(tmpdir(), 'iommu-lab-session-'));
    const out = join(this.tempDir, `${Date.now()}-${basename(name)}.trace`);
    const task = this.tasks.start(`importing ${basename(name)}`);
    const platform = this.platformJson ? { json: this.platformJson, name: this.platformName } : null;
    let imp;
    try {
      imp = await importCapture(path, out, {
        label: basename(name),
        kind: kind ?? undefined,
        platform,
        labVersion: LAB_VERSION,
        signal: task.signal,
        progress: (done, total) => task.progress(done, total),
      });
    } catch (e) {
      task.finish(task.signal.aborted ? 'cancelled' : 'failed');
      if (task.signal.aborted) throw new ApiError('ECANCELED', `${name}: import cancelled, nothing changed`);
      if (e instanceof ImportFileError) throw new ApiError('EINVAL', e.message);
      throw e;
    }
    task.finish('done');
    const c = imp.conversion;
    const shown: Partial<OpenedFile> = {
      kind: imp.kind,
      note:
        `${imp.summary.counts.lines} lines: ${c.observedFaults} observed faults, ${c.tlps} TLPs, ` +
        `${c.controls} map/unmap events, ${imp.summary.counts.bad} bad lines` +
        (imp.platform ? `; platform: ${imp.platform.name}` : '; no platform: open one to replay it'),
    };
    const bytes = (await stat(path)).size;
    if (!imp.platform && !this.platform) {
      this.pendingNative = out;
      const file: OpenedFile = { name, kind: imp.kind, bytes, ...shown };
      this.listFile(file);
      return file;
    }
    return this.accept({ kind: 'native-trace', name, bytes, path: out }, true, undefined, shown);
  }

  /** Lists an opened file last (a file opened again moves there: names stay unique) and says so. */
  private listFile(file: OpenedFile): void {
    const i = this.files.findIndex((f) => f.name === file.name);
    if (i >= 0) this.files.splice(i, 1);
    this.files.push(file);
    this.emit('filesChanged', [...this.files]);
  }

  dispose(): void {
    this.player?.dispose();
    this.player = null;
    this.probe?.dispose();
    this.probe = null;
    if (this.tempDir) void rm(this.tempDir, { recursive: true, force: true });
  }

  readonly handlers: ApiHandlers = {
    hello: () => ({
      apiVersion: API_VERSION,
      labVersion: LAB_VERSION,
      transport: this.transport,
      files: [...this.files],
    }),
    openFile: async (p) => {
      if ('path' in p) return this.openUserPath(p.path);
      const sniffed = sniff(p.bytes.subarray(0, HEAD_BYTES), p.bytes.byteLength <= HEAD_BYTES);
      if (sniffed.kind === 'firmware') return this.openFirmware(basename(p.name), p.bytes);
      if (sniffed.kind === 'unknown') throw new ApiError('EINVAL', `${basename(p.name)}: ${sniffed.reason}`);
      if (sniffed.kind === 'capture') {
        this.tempDir ??= await mkdtemp(join(tmpdir(), 'iommu-lab-session-'));
        const upload = join(this.tempDir, `${Date.now()}-upload-${basename(p.name)}`);
        await writeFile(upload, p.bytes);
        try {
          return await this.openCapture(upload, basename(p.name), sniffed.importKind);
        } finally {
          await rm(upload, { force: true });
        }
      }
      try {
        const input = decodeInput(basename(p.name), p.bytes, null);
        if (input.kind === 'native-trace') {
          this.tempDir ??= await mkdtemp(join(tmpdir(), 'iommu-lab-session-'));
          input.path = join(this.tempDir, `${Date.now()}-${basename(p.name)}`);
          await writeFile(input.path, p.bytes);
        }
        return await this.accept(input, true, p.bytes);
      } catch (e) {
        return rethrow(e);
      }
    },
    platformSummary: () =>
      this.platform
        ? {
            name: this.platform.name,
            source: this.platformName,
            devices: this.player?.devices() ?? [],
          }
        : null,
    replayControl: async (p) => {
      const player = this.requirePlayer();
      switch (p.action) {
        case 'play':
          player.play();
          break;
        case 'pause':
          player.pause();
          break;
        case 'step':
          player.step(p.count ?? 1);
          break;
        case 'seek':
          await player.seek(p.time);
          break;
        case 'speed':
          player.setSpeed(p.speed);
          break;
        case 'reset':
          await player.reset();
          break;
      }
      return player.stats();
    },
    replayStats: () => this.player?.stats() ?? EMPTY_STATS,
    faultClusters: ({ filter }) => {
      if (!this.player) return [];
      const t = this.player.table();
      return filterErrors('faultClusters', () => clusterRows(t.query, filter, t.visible, t.lab));
    },
    faultDetails: ({ index, kind }) => this.faultDetailsOf(index, kind ?? 'fault'),
    platformTree: () => this.inspectView({ view: 'platformTree' }) as Promise<PlatformTreeView>,
    addressSpace: ({ time, ...q }) => this.addressSpaceAt(q, time),
    walk: ({ time, ...q }) => this.inspectView({ view: 'walk', ...q }, time) as Promise<WalkView>,
    timeline: async ({ buckets, maxMarkers }) => {
      this.requirePlayer();
      // TLPs over the whole trace from its index (or events); faults and markers so far from the model
      const { start, end, tlps } = this.nativePath
        ? await nativeTlpDensity(this.nativePath, buckets)
        : textTlpDensity(this.events, buckets);
      const [faults, marks] = await Promise.all([
        this.inspectView({ view: 'faultDensity', start, end, buckets }) as Promise<Float64Array>,
        this.inspectView({ view: 'controls', max: maxMarkers }) as Promise<
          Pick<TimelineView, 'markers' | 'moreMarkers'>
        >,
      ]);
      return { start, end, tlps, faults, ...marks };
    },
    recentFiles: () => this.recent.list(),
    cancelTask: ({ task }) => ({ cancelled: this.tasks.cancel(task) }),
    whatIf: (p) => this.reports.whatIf(p),
    reportDiff: (p) => this.reports.reportDiff(p),
    queryFaults: ({ offset, limit, filter, sort, colorRules, shape }) => {
      if (!this.player) return { total: 0, all: 0, rows: [] };
      const t = this.player.table();
      return filterErrors('queryFaults', () =>
        t.query.run({ offset, limit, filter, sort, colorRules, shape }, t.visible),
      );
    },
    crosscheck: async ({ guest, qemu, profile }) => {
      const [g, q] = await Promise.all([fileText(guest), fileText(qemu)]);
      return crosscheckTexts(g.text, q.text, { profile, guestFile: g.name, qemuFile: q.name });
    },
    exportReport: ({ format, filter }) => {
      const player = this.requirePlayer();
      if (format !== 'fault-rows-csv') return this.reports.exportReport(format);
      // the fault table's rows shown now that match the filter, in trace order
      const t = player.table();
      const ids = filterErrors('exportReport', () => t.query.matching(filter, t.visible));
      const bytes = faultRowsCsv(ids.length, (k) => t.query.store.row(ids[k]!));
      return { name: 'iommu-lab-fault-rows.csv', mime: 'text/csv', bytes };
    },
  };

  private async accept(
    input: LoadedInput,
    byUser: boolean,
    bytes?: Uint8Array,
    /** how the file is listed, when not as its input kind (firmware, imported captures) */
    shown: Partial<OpenedFile> = {},
  ): Promise<OpenedFile> {
    this.reports.noteInput(input, bytes);
    const file: OpenedFile = {
      name: input.name,
      kind: input.kind === 'native-trace' ? 'trace' : input.kind,
      bytes: input.bytes,
      ...shown,
    };
    if (input.kind === 'platform') {
      this.platform = input.platform;
      this.platformJson = input.json;
      this.platformName = input.name;
      this.platformOpened = byUser;
      if (this.pendingNative && !this.nativePath) this.nativePath = this.pendingNative;
      this.pendingNative = null;
    } else if (input.kind === 'trace') {
      this.events = input.trace.events;
      this.nativePath = null;
      this.pendingNative = null;
    } else {
      this.pendingNative = null;
      this.nativePath = input.path;
      this.events = [];
    }
    await this.restartPlayer();
    this.listFile(file);
    return file;
  }

  /**
   * Answers a view query (src/engine/inspect) against the state shown, or against the state at trace
   * time `at` (every event at or before it applied) through the probe player, leaving the shown one alone.
   */
  async inspectView(query: InspectQuery, at?: number): Promise<unknown> {
    const player = this.requirePlayer();
    try {
      if (at === undefined) return await player.inspect(query);
      const generation = this.playerGeneration;
      if (!this.probe) {
        const probe = await this.makeProbe!();
        if (generation !== this.playerGeneration) {
          probe.dispose();
          throw new ApiError('EBUSY', 'the files changed while the view was being prepared; ask again');
        }
        this.probe = probe;
      }
      await this.probe.seek(at);
      return await this.probe.inspect(query);
    } catch (e) {
      if (e instanceof InspectError) throw new ApiError('EINVAL', e.message);
      throw e;
    }
  }

  private async restartPlayer(): Promise<void> {
    this.player?.dispose();
    this.player = null;
    this.probe?.dispose();
    this.probe = null;
    this.makeProbe = null;
    const generation = ++this.playerGeneration;
    if (this.nativePath) {
      const override =
        this.platformOpened && this.platformJson
          ? { json: this.platformJson, name: this.platformName }
          : undefined;
      const input = await openNativeInput(this.nativePath, undefined, override);
      const label = basename(this.nativePath);
      const player = await WorkerPlayer.open(input, {
        ...this.workerOptions,
        label,
        onStats: (s) => {
          if (this.playerGeneration === generation) this.emit('stats', s);
        },
      });
      if (generation !== this.playerGeneration) {
        void player.dispose(); // another file was opened meanwhile
        return;
      }
      if (!this.platformOpened || !this.platform) {
        this.platform = input.platform;
        this.platformJson = input.platformJson;
        this.platformName = input.platformFile ?? `${basename(this.nativePath)} (embedded)`;
      }
      // rows a far seek skips are filled by a second player replaying from the top (backfill.ts)
      const backfill = new Backfill({
        rows: player.tableRows,
        visible: () => player.table().visible,
        time: () => player.stats().time,
        open: (onRows, onError) =>
          WorkerPlayer.open(input, {
            label,
            onRows,
            onError,
            snapshotsPerSecond: 10,
            // it only plays forward: no checkpoints needed
            checkpointEvery: 2 ** 40,
          }),
        task: (name) => this.tasks.start(name),
      });
      this.player = inWorkers(player, backfill);
      this.makeProbe = async () =>
        inWorkers(await WorkerPlayer.open(input, { ...this.workerOptions, label }));
      this.emit('stats', player.stats());
      return;
    }
    if (!this.platform) return;
    const player = new Player(this.platform, this.events, (s) => this.emit('stats', s));
    this.player = inThread(player);
    const platform = this.platform;
    const events = this.events;
    this.makeProbe = async () => inThread(new Player(platform, events, () => {}));
    this.emit('stats', player.stats());
  }

  /**
   * The address map as shown, or at `time` through the probe. A native trace's engine keeps no fault
   * list: its fault marks are then the per-device 2 MiB page-range aggregates of the same player.
   */
  private async addressSpaceAt(
    q: { bdf: string; pasid?: number | null },
    time?: number,
  ): Promise<AddressSpaceView> {
    const view = (await this.inspectView({ view: 'addressSpace', ...q }, time)) as AddressSpaceView;
    const ranges = (time === undefined ? this.player : this.probe)?.stats().aggregates?.faultsByRange;
    if (ranges) {
      view.faultMarks = faultMarksFromRanges(ranges, view.requester);
      view.faultBucketBytes = ranges.rangeBytes;
      view.faultSource = 'ranges';
    }
    return view;
  }

  /**
   * The fault table's row of the `index`-th fault (or hazard), from the columnar store of every fault and
   * hazard replayed so far (fault-store.ts), whichever player runs the trace.
   */
  private tableRow(index: number, kind: 'fault' | 'hazard'): FaultRow {
    const t = this.requirePlayer().table();
    const store = t.query.store;
    const n = Math.min(t.visible, store.length);
    const i = rowOf(store, kind, index, n);
    if (i < 0) {
      const held = kind === 'hazard' ? store.hazards : store.faults;
      throw new ApiError(
        'EINVAL',
        index < held
          ? `faultDetails: ${kind} ${index} was skipped by a seek: replay from before it to see it`
          : `faultDetails: no ${kind} ${index} yet (${held} ${kind}s replayed so far)`,
      );
    }
    return store.row(i);
  }

  /**
   * The details pane of one fault or hazard: its walk, domain and hint on the state at its time (the
   * probe); a hazard's hint names the unmap that left the IOTLB entry stale.
   */
  private async faultDetailsOf(index: number, kind: 'fault' | 'hazard'): Promise<FaultDetails> {
    const row = this.tableRow(index, kind);
    const query: InspectQuery =
      kind === 'hazard'
        ? {
            view: 'faultDetails',
            kind,
            bdf: row.bdf,
            pasid: row.pasid,
            address: row.address,
            access: row.access,
            time: row.time,
            unmapOrigin: row.hazard?.unmapOrigin,
            unmapTime: row.hazard?.unmapTime,
          }
        : {
            view: 'faultDetails',
            bdf: row.bdf,
            pasid: row.pasid,
            address: row.address,
            access: row.access,
            reason: row.reason,
            stage: row.stage,
            recording: row.recording,
            classes: row.classes,
            time: row.time,
            index: row.index,
          };
    const ctx = (await this.inspectView(query, row.time)) as FaultContext;
    return {
      kind,
      index: row.index,
      time: row.time,
      request: {
        bdf: row.bdf,
        pasid: row.pasid,
        access: row.access,
        address: row.address,
        tbit: row.tbit ?? null,
      },
      reason: row.reason,
      reasonText: row.reasonText,
      stage: row.stage,
      recording: row.recording,
      classes: row.classes,
      walk: ctx.walk,
      domain: ctx.domain,
      dmesg: row.dmesg,
      hint: ctx.hint,
      profile: row.profile,
      ...(row.hazard ? { hazard: row.hazard } : {}),
    };
  }

  private requirePlayer(): SessionPlayer {
    if (!this.player)
      throw new ApiError('ENOENT', 'no platform loaded: open a platform or a trace that names one');
    return this.player;
  }
}

/** A filter or coloring rule that does not parse is the caller's mistake: EINVAL naming the column. */
function filterErrors<T>(method: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ColorRuleError) throw new ApiError('EINVAL', `${method}: ${e.message}`);
    if (e instanceof FilterError) throw new ApiError('EINVAL', `${method}: filter: ${e.message}`);
    throw e;
  }
}

/** What the file at `path` is, from its first bytes (a missing or unreadable file is ENOENT). */
async function sniffPath(path: string): Promise<Sniffed> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ApiError('ENOENT', `${path}: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new ApiError('EINVAL', `${path}: is a directory`);
    const head = new Uint8Array(Math.min(HEAD_BYTES, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return sniff(head.subarray(0, bytesRead), st.size <= HEAD_BYTES);
  } finally {
    await fh.close();
  }
}

function rethrow(e: unknown): never {
  if (e instanceof InputError) throw new ApiError('EINVAL', e.message);
  throw e;
}

/** Reads a file the API names (a host path, or bytes from the renderer) as text, gunzipping .gz content. */
async function fileText(
  f: { path: string } | { name: string; bytes: Uint8Array },
): Promise<{ name: string; text: string }> {
  let bytes: Uint8Array;
  let name: string;
  if ('path' in f) {
    name = f.path;
    try {
      bytes = await readFile(f.path);
    } catch (e) {
      throw new ApiError('ENOENT', `${f.path}: ${(e as Error).message}`);
    }
  } else {
    name = basename(f.name);
    bytes = f.bytes;
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new ApiError('EINVAL', `${name}: not a readable gzip stream: ${(e as Error).message}`);
    }
  }
  return { name, text: new TextDecoder().decode(bytes) };
}
