/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The gateway (cargo run / `ocomms up`) listens on :3000; the dev server
// forwards the API, the WebSocket and gRPC-web (`/ocomms.*`: the event
// stream the socket falls back to) there. The Host header is kept (no
// changeOrigin) so the gateway's same-origin check for cookie sockets holds.
const api = process.env.OCOMMS_API ?? 'http://127.0.0.1:3000';

// The policy the gateway serves the client with (gateway/src/web.rs), so a
// violation shows in `vite preview` too.
const csp =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
  "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'";

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  server: {
    proxy: { '/api': { target: api, ws: true }, '/ocomms.': { target: api } },
  },
  preview: {
    proxy: { '/api': { target: api, ws: true }, '/ocomms.': { target: api } },
    headers: { 'Content-Security-Policy': csp },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // The CSP forbids inline scripts: no modulepreload polyfill.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
  },
});
