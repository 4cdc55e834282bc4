// One user's lab session: the opened files, the platform, the trace and its player. Implements the
// API contract (src/shared/api.ts) for both transports; knows nothing about IPC or WebSockets.
import { basename } from 'node:path';
import { version } from '../../package.json';
import type { Platform } from '../engine/platform/index';
import type { ReplayEvent } from '../engine/replay';
import { deviceSummaries, faultRow, faultsCsv, runSummary } from '../report/summary';
import {
  ApiError,
  API_VERSION,
  type ApiHandlers,
  type EventSink,
  type HostInfo,
  type OpenedFile,
} from '../shared/api';
import { decodeInput, InputError, readInput, type LoadedInput } from './inputs';
import { Player } from './player';

export const LAB_VERSION: string = version;

export class Session {
  private readonly files: OpenedFile[] = [];
  private platform: Platform | null = null;
  private platformName = '';
  private events: ReplayEvent[] = [];
  private badLines = 0;
  private player: Player | null = null;

  constructor(
    private readonly transport: HostInfo['transport'],
    private readonly emit: EventSink,
  ) {}

  /** Opens a file from disk (CLI arguments, dialogs, recent files). */
  async openPath(path: string): Promise<OpenedFile> {
    const input = await readInput(path).catch(rethrow);
    if (input.kind === 'trace' && input.platformPath && !this.platform) {
      const plat = await readInput(input.platformPath).catch(rethrow);
      this.accept(plat);
    }
    return this.accept(input);
  }

  dispose(): void {
    this.player?.dispose();
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
        return this.accept(decodeInput(basename(p.name), p.bytes, null));
      } catch (e) {
        return rethrow(e);
      }
    },
    platformSummary: () =>
      this.platform
        ? {
            name: this.platform.name,
            source: this.platformName,
            devices: deviceSummaries(this.player!.replay.lab, this.player!.replay),
          }
        : null,
    replayControl: (p) => {
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
          player.seek(p.time);
          break;
        case 'speed':
          player.setSpeed(p.speed);
          break;
        case 'reset':
          player.reset();
          break;
      }
      return player.stats();
    },
    replayStats: () =>
      this.player?.stats() ?? {
        status: 'empty',
        time: 0,
        endTime: 0,
        eventsApplied: 0,
        eventsTotal: 0,
        tlps: 0,
        faults: 0,
        speed: 0,
        profile: 'vtd-spec',
      },
    queryFaults: ({ offset, limit }) => {
      const faults = this.player?.replay.faults ?? [];
      return { total: faults.length, rows: faults.slice(offset, offset + limit).map(faultRow) };
    },
    exportReport: ({ format }) => {
      const player = this.requirePlayer();
      const rows = player.replay.faults.map(faultRow);
      const enc = new TextEncoder();
      if (format === 'csv')
        return { name: 'iommu-lab-faults.csv', mime: 'text/csv', bytes: enc.encode(faultsCsv(rows)) };
      const summary = runSummary(player.replay, this.events.length, this.badLines);
      return {
        name: 'iommu-lab-report.json',
        mime: 'application/json',
        bytes: enc.encode(JSON.stringify({ ...summary, faultRows: rows }, null, 2)),
      };
    },
  };

  private accept(input: LoadedInput): OpenedFile {
    const file: OpenedFile = { name: input.name, kind: input.kind, bytes: input.bytes };
    if (input.kind === 'platform') {
      this.platform = input.platform;
      this.platformName = input.name;
    } else {
      this.events = input.trace.events;
      this.badLines = input.trace.errors.length;
    }
    this.files.push(file);
    this.restartPlayer();
    this.emit('filesChanged', [...this.files]);
    return file;
  }

  private restartPlayer(): void {
    this.player?.dispose();
    this.player = null;
    if (!this.platform) return;
    this.player = new Player(this.platform, this.events, (s) => this.emit('stats', s));
    this.emit('stats', this.player.stats());
  }

  private requirePlayer(): Player {
    if (!this.player)
      throw new ApiError('ENOENT', 'no platform loaded: open a platform or a trace that names one');
    return this.player;
  }
}

function rethrow(e: unknown): never {
  if (e instanceof InputError) throw new ApiError('EINVAL', e.message);
  throw e;
}
