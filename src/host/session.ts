// One user's lab session: the opened files, the platform, the trace and its player. Implements the
// API contract (src/shared/api.ts) for both transports; knows nothing about IPC or WebSockets.
// Text traces (JSON lines) play in this thread (player.ts); native traces play in the worker player
// (src/host/replay: a decoder and an engine worker joined by a SharedArrayBuffer ring), whose
// snapshots reach the renderer as 'stats' events at most 30 times a second, with typed-array
// aggregates. A native trace uses the platform it embeds, unless the user opened a platform file
// themselves. Uploaded native traces are written to a temporary file first (the player streams it).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { crosscheckTexts } from '../crosscheck/index';
import { version } from '../../package.json';
import { InspectError, type InspectQuery } from '../engine/inspect/index';
import type { Platform } from '../engine/platform/index';
import type { ReplayEvent } from '../engine/replay';
import { deviceSummaries, faultRow, faultsCsv, runSummary, type RunSummary } from '../report/summary';
import {
  ApiError,
  API_VERSION,
  type ApiHandlers,
  type DeviceSummary,
  type EventSink,
  type FaultRow,
  type HostInfo,
  type OpenedFile,
  type ReplayStats,
} from '../shared/api';
import { decodeInput, InputError, readInput, type LoadedInput } from './inputs';
import { Player } from './player';
import { openNativeInput } from './replay/native-input';
import { WorkerPlayer } from './replay/worker-player';

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
  faultCount(): number;
  faultRows(offset: number, limit: number): FaultRow[];
  summary(): RunSummary;
  /** a read-only view of the state at the current time (src/engine/inspect) */
  inspect(query: InspectQuery): Promise<unknown>;
  dispose(): void;
}

function inThread(player: Player, events: number, badLines: number): SessionPlayer {
  return {
    stats: () => player.stats(),
    play: () => player.play(),
    pause: () => player.pause(),
    step: (n) => player.step(n),
    seek: (t) => player.seek(t),
    setSpeed: (s) => player.setSpeed(s),
    reset: () => player.reset(),
    devices: () => deviceSummaries(player.replay.lab, player.replay),
    faultCount: () => player.replay.faults.length,
    faultRows: (offset, limit) => player.replay.faults.slice(offset, offset + limit).map(faultRow),
    summary: () => runSummary(player.replay, events, badLines),
    inspect: async (q) => player.inspect(q),
    dispose: () => player.dispose(),
  };
}

function inWorkers(player: WorkerPlayer): SessionPlayer {
  return {
    stats: () => player.stats(),
    play: () => player.play(),
    pause: () => player.pause(),
    step: (n) => player.step(n),
    seek: (t) => player.seek(t),
    setSpeed: (s) => player.setSpeed(s),
    reset: () => player.reset(),
    devices: () => player.devices,
    faultCount: () => player.stats().faults,
    faultRows: (offset, limit) => player.faultRowsSlice(offset, limit),
    summary: () => player.summary(),
    inspect: (q) => player.inspect(q),
    dispose: () => void player.dispose(),
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
  private badLines = 0;
  /** the native trace being played, when the trace is native */
  private nativePath: string | null = null;
  private player: SessionPlayer | null = null;
  /** a second player on the same files, seeked to the times views ask about (the shown one stays put) */
  private probe: SessionPlayer | null = null;
  /** builds a probe for the current files */
  private makeProbe: (() => Promise<SessionPlayer>) | null = null;
  private playerGeneration = 0;
  private tempDir: string | null = null;

  constructor(
    private readonly transport: HostInfo['transport'],
    private readonly emit: EventSink,
  ) {}

  /** Opens a file from disk (CLI arguments, dialogs, recent files). */
  async openPath(path: string): Promise<OpenedFile> {
    const input = await readInput(path).catch(rethrow);
    if (input.kind === 'trace' && input.platformPath && !this.platform) {
      const plat = await readInput(input.platformPath).catch(rethrow);
      await this.accept(plat, false);
    }
    return this.accept(input, true);
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
      if ('path' in p) return this.openPath(p.path);
      try {
        const input = decodeInput(basename(p.name), p.bytes, null);
        if (input.kind === 'native-trace') {
          this.tempDir ??= await mkdtemp(join(tmpdir(), 'iommu-lab-session-'));
          input.path = join(this.tempDir, `${Date.now()}-${basename(p.name)}`);
          await writeFile(input.path, p.bytes);
        }
        return await this.accept(input, true);
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
    faultClusters: () => notYet('faultClusters'),
    faultDetails: () => notYet('faultDetails'),
    platformTree: () => notYet('platformTree'),
    addressSpace: () => notYet('addressSpace'),
    walk: () => notYet('walk'),
    timeline: () => notYet('timeline'),
    recentFiles: () => notYet('recentFiles'),
    cancelTask: () => notYet('cancelTask'),
    whatIf: () => notYet('whatIf'),
    queryFaults: ({ offset, limit }) => {
      const player = this.player;
      if (!player) return { total: 0, rows: [] };
      return { total: player.faultCount(), rows: player.faultRows(offset, limit) };
    },
    crosscheck: async ({ guest, qemu, profile }) => {
      const [g, q] = await Promise.all([fileText(guest), fileText(qemu)]);
      return crosscheckTexts(g.text, q.text, { profile, guestFile: g.name, qemuFile: q.name });
    },
    exportReport: ({ format }) => {
      const player = this.requirePlayer();
      const rows = player.faultRows(0, Number.MAX_SAFE_INTEGER);
      const enc = new TextEncoder();
      if (format === 'csv')
        return { name: 'iommu-lab-faults.csv', mime: 'text/csv', bytes: enc.encode(faultsCsv(rows)) };
      return {
        name: 'iommu-lab-report.json',
        mime: 'application/json',
        bytes: enc.encode(JSON.stringify({ ...player.summary(), faultRows: rows }, null, 2)),
      };
    },
  };

  private async accept(input: LoadedInput, byUser: boolean): Promise<OpenedFile> {
    const file: OpenedFile = {
      name: input.name,
      kind: input.kind === 'native-trace' ? 'trace' : input.kind,
      bytes: input.bytes,
    };
    if (input.kind === 'platform') {
      this.platform = input.platform;
      this.platformJson = input.json;
      this.platformName = input.name;
      this.platformOpened = byUser;
    } else if (input.kind === 'trace') {
      this.events = input.trace.events;
      this.badLines = input.trace.errors.length;
      this.nativePath = null;
    } else {
      this.nativePath = input.path;
      this.events = [];
      this.badLines = 0;
    }
    await this.restartPlayer();
    this.files.push(file);
    this.emit('filesChanged', [...this.files]);
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
      const player = await WorkerPlayer.open(input, {
        label: basename(this.nativePath),
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
      this.player = inWorkers(player);
      this.makeProbe = async () =>
        inWorkers(await WorkerPlayer.open(input, { label: basename(this.nativePath!) }));
      this.emit('stats', player.stats());
      return;
    }
    if (!this.platform) return;
    const player = new Player(this.platform, this.events, (s) => this.emit('stats', s));
    this.player = inThread(player, this.events.length, this.badLines);
    const platform = this.platform;
    const events = this.events;
    const badLines = this.badLines;
    this.makeProbe = async () => inThread(new Player(platform, events, () => {}), events.length, badLines);
    this.emit('stats', player.stats());
  }

  private requirePlayer(): SessionPlayer {
    if (!this.player)
      throw new ApiError('ENOENT', 'no platform loaded: open a platform or a trace that names one');
    return this.player;
  }
}

function notYet(method: string): never {
  throw new ApiError('ENOSYS', `${method}: not implemented by this host yet`);
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
