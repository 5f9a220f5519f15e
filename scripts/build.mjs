// Bundles every entry point with esbuild: the `weft` CLI (Node ESM), the VS Code extension
// (CommonJS, `vscode` external) and the webviews (browser IIFE). Type-checking is `tsc --noEmit`.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Chunk names carry content hashes, so old ones would pile up; they are removed after the build,
// once they are 10 minutes old (esbuild rewrites every chunk it produces, so a chunk not touched by
// this build is stale). Processes started from an earlier build, a test run going on while
// someone rebuilds, keep their chunks meanwhile.
const CHUNKS = 'dist/chunks';
const STALE_AFTER_MS = 10 * 60_000;
const startedAt = Date.now();

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
// Big parts of the extension live in their own files, required on first use, so activation parses little:
// client-node (~14 MB of JavaScript) and the install/check/dev-cluster commands (x509, execa).
const lazyBundles = {
  name: 'lazy-bundles',
  setup: (b) => {
    const lazy = (filter, file) => b.onResolve({ filter }, (a) => (a.kind === 'entry-point' ? undefined : { path: `./${file}`, external: true }));
    lazy(/^@kubernetes\/client-node$/, 'kube-client-node.cjs');
    lazy(/\/commands\/mesh-commands$/, 'extension-mesh-commands.cjs');
  },
};
if (existsSync('extension/extension.ts')) {
  jobs.push(build({
    ...common,
    entryPoints: { extension: 'extension/extension.ts' },
    outfile: 'dist/extension.cjs',
    platform: 'node',
    format: 'cjs',
    external: ['vscode', 'koffi'],
    plugins: [lazyBundles],
    supported: { 'dynamic-import': false }, // import() of a lazy bundle becomes require(): one module instance, VS Code's `vscode` shim applies
  }));
  jobs.push(build({ ...common, entryPoints: { 'kube-client-node': '@kubernetes/client-node' }, outdir: 'dist', outExtension: { '.js': '.cjs' }, platform: 'node', format: 'cjs' }));
  jobs.push(build({ ...common, entryPoints: { 'extension-mesh-commands': 'extension/commands/mesh-commands.ts' }, outdir: 'dist', outExtension: { '.js': '.cjs' }, platform: 'node', format: 'cjs', external: ['vscode', 'koffi'], plugins: [lazyBundles], supported: { 'dynamic-import': false } }));
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

for (const name of existsSync(CHUNKS) ? readdirSync(CHUNKS) : []) {
  const file = join(CHUNKS, name);
  const { mtimeMs } = statSync(file);
  if (mtimeMs < startedAt - 1_000 && mtimeMs < Date.now() - STALE_AFTER_MS) rmSync(file, { force: true });
}
