// steadyJit(): turns off V8's concurrent recompilation for the isolates this process creates from now on:
// the replay's worker threads (the engine and the decoder), where the hot loop runs. Call it in an entry
// point (the CLI, the Electron main process, the bench) before the first player starts. It does not
// reach the calling thread's own isolate, whose compiler V8 set up at start: code that must run steady
// in the main thread needs `node --no-concurrent-recompilation` (the bench's `npm run bench` passes it).
//
// Why: with concurrent recompilation, the engine's hot loop (Replay.applyTlpRun → VtdTranslator.hitRun)
// came out of the optimizing compiler in one of two speeds, chosen per process by timing: in one thread on
// the same records, rounds within a process agreed (±1 ns) but processes split between about 30 and
// 46 ns a TLP, and the end-to-end replay between 16 and 26 M TLP/s. Compiled on the thread that runs it
// (`node --no-concurrent-recompilation`), the code came out at the fast speed in every run measured
// (engine alone 28.6–31.5 ns a TLP); with this call before the workers start, ten end-to-end runs gave
// 22.8–26.5 M TLP/s. The compile itself then blocks the engine's thread for a few milliseconds once.
// Measured on this project's 2-vCPU VM (`npm run bench`).
import { setFlagsFromString } from 'node:v8';

export function steadyJit(): void {
  setFlagsFromString('--no-concurrent-recompilation');
}
