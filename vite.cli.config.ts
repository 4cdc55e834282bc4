// Builds the Node-only CLI (and with it the web host) to out/cli/index.js as an SSR bundle:
// dependencies stay external and load from node_modules. The replay player's worker threads are
// entries of their own (out/cli/replay-decoder.js, out/cli/replay-engine.js), found next to the
// bundle at run time (src/host/replay/worker-url.ts); shared code goes to chunks beside them.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: true,
    outDir: 'out/cli',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: 'src/cli/index.ts',
        'replay-decoder': 'src/host/replay/decoder-worker.ts',
        'replay-engine': 'src/host/replay/engine-worker.ts',
      },
      output: { entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', format: 'es' },
    },
  },
});
