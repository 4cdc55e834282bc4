// Builds the benchmarks (bench/run.ts) to out/bench/run.js for `npm run bench`, with the replay
// player's worker entries beside it (src/host/replay/worker-url.ts finds them there).
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'out/bench',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: {
      input: {
        run: 'bench/run.ts',
        'replay-decoder': 'src/host/replay/decoder-worker.ts',
        'replay-engine': 'src/host/replay/engine-worker.ts',
      },
      output: { entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', format: 'es' },
    },
  },
});
