#!/usr/bin/env node
// The `weft` command: runs the bundled CLI (built by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/weft.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('weft: dist/weft.js is missing; run `npm run build` first.');
  process.exit(1);
}
await import(entry);
