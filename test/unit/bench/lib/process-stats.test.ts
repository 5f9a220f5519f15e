import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuMsOf, parseCpuTicks, parseVmRssKb, rssMbOf } from '../../../bench/lib/process-stats';

test('utime + stime are read after the comm field, even when comm holds spaces and parentheses', () => {
  const stat = '4242 (node (weft) x) S 1 4242 4242 0 -1 4194304 1234 0 0 0 150 37 0 0 20 0 11 0 999 1000000 2000 18446744073709551615';
  assert.equal(parseCpuTicks(stat), 187);
  assert.throws(() => parseCpuTicks('garbage'));
  assert.throws(() => parseCpuTicks('1 (x) S 1 2'));
});

test('VmRSS is read in kB', () => {
  const status = 'Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 1 kB\n';
  assert.equal(parseVmRssKb(status), 51234);
  assert.throws(() => parseVmRssKb('Name:\tkthreadd\n'));
});

test('the readers work on this very process', () => {
  assert.ok(rssMbOf(process.pid) > 5);
  assert.ok(cpuMsOf(process.pid) >= 0);
});
