// vite builds src/ into dist/, which is committed and embedded by embed.go.
// Output names carry no content hash and the build stamps no time, so two
// builds of the same sources and lockfile are byte-identical (make web-check
// relies on it); the server sends Cache-Control: no-cache instead.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    license: { fileName: 'licenses.md' },
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name].js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
        // Vendors in their own files, so that a change to the app rewrites
        // only the app's few kilobytes of committed output.
        manualChunks(id: string) {
          if (id.includes('node_modules/maplibre-gl/')) return 'maplibre';
          if (id.includes('node_modules/hls.js/')) return 'hls';
          return undefined;
        },
      },
    },
  },
});
