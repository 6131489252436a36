import { defineConfig } from "vite";

// Built by `vite build clients/web` (root = this directory) into dist/web, which the
// controller's web console server (server/transport/web) serves as static files. No CDN: every
// script and style is bundled.
export default defineConfig({
  base: "/",
  build: {
    outDir: "../../dist/web",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    // One small CSS file and JS chunk; no inline scripts (the server sends a strict CSP).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
