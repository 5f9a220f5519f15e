import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuMsOf, parseCpuTicks, parseRssSplitKb, parseVmRssKb, rssMbOf, rssSplitOf } from '../../../bench/lib/process-stats';

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

test('the RSS split (anonymous, file-backed) is read beside VmRSS', () => {
  const status = 'Name:\tnode\nVmRSS:\t   55824 kB\nRssAnon:\t   13144 kB\nRssFile:\t   42680 kB\nRssShmem:\t 0 kB\n';
  assert.deepEqual(parseRssSplitKb(status), { rssKb: 55824, anonKb: 13144, fileKb: 42680 });
  assert.throws(() => parseRssSplitKb('VmRSS:\t 1 kB\nRssAnon:\t 1 kB\n'), /RssFile/);
});

test('the readers work on this very process', () => {
  assert.ok(rssMbOf(process.pid) > 5);
  const split = rssSplitOf(process.pid);
  assert.ok(split.anonKb > 0 && split.fileKb > 0 && split.anonKb + split.fileKb <= split.rssKb + 4);
  assert.ok(cpuMsOf(process.pid) >= 0);
});
