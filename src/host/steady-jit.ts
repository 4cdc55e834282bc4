// steadyJit(): turns off V8's concurrent recompilation for this process (its workers included: V8 flags are
// per process). Call it first thing in an entry point (the CLI, the Electron main process, the bench),
// before any hot code is optimized.
//
// Why: with concurrent recompilation, the engine's hot loop (Replay.applyTlpRun → VtdTranslator.hitRun)
// came out of the optimizing compiler in one of two speeds, chosen per process by timing: in one thread on
// the same records, rounds within a process agreed (±1 ns) but processes split between about 30 and
// 46 ns a TLP, and the end-to-end replay between 16 and 26 M TLP/s. Compiled on the thread that runs it,
// the code came out at the fast speed in every run measured (engine alone 28.6–31.5 ns a TLP; end to end
// 25.3–26.5 M TLP/s in five of five runs); the compile itself then blocks that thread for a few
// milliseconds once. Measured on this project's 2-vCPU VM (`npm run bench`).
import { setFlagsFromString } from 'node:v8';

export function steadyJit(): void {
  setFlagsFromString('--no-concurrent-recompilation');
}
