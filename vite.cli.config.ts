// Builds the Node-only CLI (and with it the web host) to out/cli/index.js as an SSR bundle:
// dependencies stay external and load from node_modules.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    ssr: 'src/cli/index.ts',
    outDir: 'out/cli',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'index.js', format: 'es' } },
  },
});
