import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { guardTerminal, type StreamName } from '../../../dev-cluster/local/terminal-output';

test('guardTerminal: a real closed pipe (EPIPE) marks the stream closed, calls onClosed once, drops later writes, raises nothing', async () => {
  // The reader closes its end of the pipe and stays: writing to it is writing to a closed pipe, like `weft local up | head`.
  const reader = spawn(process.execPath, ['-e', "require('fs').closeSync(0);console.log('closed');setTimeout(()=>{},30000)"], { stdio: ['pipe', 'pipe', 'ignore'] });
  await new Promise((r) => reader.stdout!.once('data', r));
  const stderr = new PassThrough();
  const told: [StreamName, string | undefined][] = [];
  const term = guardTerminal((s, e) => told.push([s, e.code]), { stdout: reader.stdin!, stderr });
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    for (let i = 0; i < 50 && !term.closed('stdout'); i++) {
      term.out(`line ${i}\n`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(term.closed('stdout'), true);
    for (let i = 0; i < 100; i++) term.out('dropped\n');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(told, [['stdout', 'EPIPE']]);
    assert.deepEqual(uncaught, []);
    term.err('still written\n');
    assert.equal(term.closed('stderr'), false);
    assert.equal(stderr.read()?.toString(), 'still written\n');
    // A second failing stream is marked closed too, without a second call.
    stderr.destroy(new Error('EIO'));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(term.closed('stderr'), true);
    term.err('dropped\n');
    assert.equal(told.length, 1);
  } finally {
    process.off('uncaughtException', onUncaught);
    term.dispose();
    reader.kill('SIGKILL');
  }
});
