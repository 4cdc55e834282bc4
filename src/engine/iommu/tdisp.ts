// TDISP state of a device interface (PCIe §11, TEE Device Interface Security Protocol):
// CONFIG_UNLOCKED → (LOCK_INTERFACE) CONFIG_LOCKED → (START_INTERFACE) RUN; STOP_INTERFACE returns to
// CONFIG_UNLOCKED from any state; a security violation moves a locked or running interface to ERROR.
import { fail, type Failure } from '../errno';

export type TdispState = 'CONFIG_UNLOCKED' | 'CONFIG_LOCKED' | 'RUN' | 'ERROR';

export class TdispInterface {
  state: TdispState = 'CONFIG_UNLOCKED';
  readonly history: { time: number; from: TdispState; to: TdispState; why: string }[] = [];

  private move(to: TdispState, time: number, why: string): void {
    this.history.push({ time, from: this.state, to, why });
    this.state = to;
  }

  lock(time: number): Failure | null {
    if (this.state !== 'CONFIG_UNLOCKED') {
      return fail(
        'EINVAL',
        `LOCK_INTERFACE_REQUEST in ${this.state}: needs CONFIG_UNLOCKED (TDISP INVALID_INTERFACE_STATE)`,
      );
    }
    this.move('CONFIG_LOCKED', time, 'LOCK_INTERFACE_REQUEST');
    return null;
  }

  run(time: number): Failure | null {
    if (this.state !== 'CONFIG_LOCKED') {
      return fail(
        'EINVAL',
        `START_INTERFACE_REQUEST in ${this.state}: needs CONFIG_LOCKED (TDISP INVALID_INTERFACE_STATE)`,
      );
    }
    this.move('RUN', time, 'START_INTERFACE_REQUEST');
    return null;
  }

  stop(time: number): void {
    this.move('CONFIG_UNLOCKED', time, 'STOP_INTERFACE_REQUEST');
  }

  /** A violation seen while locked or running (e.g. a config write, a bad T=1 request). */
  error(time: number, why: string): void {
    if (this.state === 'CONFIG_LOCKED' || this.state === 'RUN') this.move('ERROR', time, why);
  }
}
