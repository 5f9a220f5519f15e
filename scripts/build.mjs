// Bundles every entry point with esbuild: the `weft` CLI (Node ESM), the VS Code extension
// (CommonJS, `vscode` external) and the webviews (browser IIFE). Type-checking is `tsc --noEmit`.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';

// Chunk names carry content hashes: old ones would pile up.
rmSync('dist/chunks', { recursive: true, force: true });

const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };
const jobs = [
  build({
    ...common,
    entryPoints: { weft: 'mesh/cli/main.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'esm',
    // Each subcommand is its own chunk, so `weft proxy` loads only what the proxy needs (RSS).
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // Native and heavyweight dependencies stay in node_modules.
    packages: 'external',
  }),
];
if (existsSync('extension/extension.ts')) {
  jobs.push(build({
    ...common,
    entryPoints: { extension: 'extension/extension.ts' },
    outfile: 'dist/extension.cjs',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'koffi'],
    // client-node is ~14 MB of JavaScript: it lives in its own file, required on first use (activation stays fast).
    plugins: [{ name: 'lazy-client-node', setup: (b) => b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: './kube-client-node.cjs', external: true })) }],
  }));
  jobs.push(build({ ...common, entryPoints: { 'kube-client-node': '@kubernetes/client-node' }, outdir: 'dist', outExtension: { '.js': '.cjs' }, platform: 'node', format: 'cjs' }));
}
const views = existsSync('webviews') ? readdirSync('webviews').filter((f) => f.endsWith('.view.ts')) : [];
if (views.length > 0) {
  jobs.push(build({
    ...common,
    entryPoints: views.map((f) => `webviews/${f}`),
    outdir: 'dist/webviews',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  }));
}
await Promise.all(jobs);
