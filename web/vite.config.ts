// vite.config.ts: builds the console into hashed files (assets/*-<hash>.js/.css) plus index.html,
// with no inline script or style (the server's CSP forbids both) and nothing fetched from another
// origin. CMake passes --outDir into the build directory; see docs/adr/0011-web-console.md.
import { defineConfig } from 'vitest/config';
import { openapiSchemas } from './openapi-plugin';

export default defineConfig({
  plugins: [openapiSchemas()],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2020',
    // No data: URLs or inline modules: every asset is a file of its own, under script-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
