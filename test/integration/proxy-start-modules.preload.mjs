// Preloaded (node --import) into a `weft proxy` by proxy-start-modules.test.ts: records every module
// the process loads (ES modules through a loader hook, CommonJS from require's cache, Node's own
// from process.moduleLoadList) and, on SIGUSR2, writes them with the process's environment and
// V8 heap settings as JSON to $WEFT_TEST_MODULES_OUT.
import { register } from 'node:module';
import Module from 'node:module';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { MessageChannel } from 'node:worker_threads';

const esm = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => esm.add(url));
port1.unref();
register(
  'data:text/javascript,' +
    encodeURIComponent('let port; export function initialize(d) { port = d.port; } export async function load(url, context, next) { port.postMessage(url); return next(url, context); }'),
  { data: { port: port2 }, transferList: [port2] },
);

process.on('SIGUSR2', () => {
  const out = {
    esm: [...esm],
    cjs: Object.keys(Module._cache),
    builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
    env: { NODE_OPTIONS: process.env.NODE_OPTIONS, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX },
    heap: v8.getHeapStatistics(),
  };
  writeFileSync(process.env.WEFT_TEST_MODULES_OUT, JSON.stringify(out));
});
