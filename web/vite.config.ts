import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The console is plain React with the automatic JSX runtime; Vite's built-in transform handles TSX,
// so no framework plugin is needed for production builds.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev:web` proxies the API to a running server (PORTCULLIS_URL, default the local one).
    proxy: Object.fromEntries(
      ['/api', '/rest', '/services', '/health'].map((p) => [
        p,
        { target: process.env.PORTCULLIS_URL ?? 'https://127.0.0.1:9999', secure: false, changeOrigin: true },
      ]),
    ),
  },
});
