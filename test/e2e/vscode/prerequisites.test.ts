/** The e2e suite's own decisions: when it runs, skips or fails, and which URLs the browser may reach. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackUrl } from './browser';
import { decide } from './prerequisites';

test('runs when code-server and chromium are both installed, required or not', () => {
  assert.deepEqual(decide({ codeServer: true, chromium: true, required: false }), { kind: 'run' });
  assert.deepEqual(decide({ codeServer: true, chromium: true, required: true }), { kind: 'run' });
});

test('skips with the missing piece and the install script named, when not required', () => {
  const v = decide({ codeServer: false, chromium: true, required: false });
  assert.equal(v.kind, 'skip');
  assert.match(v.kind === 'skip' ? v.reason : '', /code-server .*not installed; run scripts\/install-e2e\.sh/);
  assert.doesNotMatch(v.kind === 'skip' ? v.reason : '', /chromium/);
});

test('fails instead of skipping when WEFT_E2E_REQUIRED is set', () => {
  const v = decide({ codeServer: true, chromium: false, required: true });
  assert.equal(v.kind, 'fail');
  assert.match(v.kind === 'fail' ? v.reason : '', /WEFT_E2E_REQUIRED is set but chromium .*not installed/);
});

test('the browser may reach loopback only', () => {
  for (const url of ['http://127.0.0.1:8080/', 'ws://localhost:1/x', 'http://[::1]:3000/', 'http://127.3.2.1/', 'data:text/plain,hi', 'blob:http://127.0.0.1/uuid']) {
    assert.equal(isLoopbackUrl(url), true, url);
  }
  for (const url of ['https://open-vsx.org/', 'https://main.vscode-cdn.net/x', 'http://10.0.0.1/', 'http://127.0.0.1.example.com/', 'not a url']) {
    assert.equal(isLoopbackUrl(url), false, url);
  }
});
