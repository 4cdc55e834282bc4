// Builds the benchmarks (bench/run.ts) to out/bench/run.js for `npm run bench`.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: 'bench/run.ts',
    outDir: 'out/bench',
    emptyOutDir: true,
    target: 'node20',
    rollupOptions: { output: { entryFileNames: 'run.js', format: 'es' } },
  },
});
