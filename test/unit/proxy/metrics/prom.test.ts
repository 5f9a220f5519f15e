import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as promClient from 'prom-client';
import * as prom from '../../../../mesh/proxy/metrics/prom';

const names = (text: string): string[] => [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();

test("the proxy's process metrics are prom-client's default metrics: same names and types", async () => {
  const ours = new prom.Registry();
  prom.registerProcessMetrics(ours);
  const theirs = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: theirs });
  const [a, b] = [names(await ours.metrics()), names(await theirs.metrics())];
  assert.ok(a.length > 20, `only ${a.length} families`);
  assert.deepEqual(a, b);
});

test('process_cpu_* count this process’s CPU time, the total being user + system', async () => {
  const r = new prom.Registry();
  prom.registerProcessMetrics(r);
  await r.metrics(); // first scrape: the time since registration
  // Burn 50 ms of this process's CPU (not of wall time: on a loaded machine the two differ).
  const cpu0 = process.cpuUsage();
  const burnt = (): number => {
    const d = process.cpuUsage(cpu0);
    return (d.user + d.system) / 1000;
  };
  while (burnt() < 50);
  const text = await r.metrics();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
  const [user, system, total] = [value('process_cpu_user_seconds_total'), value('process_cpu_system_seconds_total'), value('process_cpu_seconds_total')];
  assert.ok(total >= 0.04, `total ${total}`);
  assert.ok(Math.abs(user + system - total) < 1e-6, `${user} + ${system} != ${total}`);
});

test('classes are the ones prom-client exports (registries and metrics mix)', () => {
  assert.equal(prom.Registry, promClient.Registry);
  assert.equal(prom.Counter, promClient.Counter);
  assert.equal(prom.Gauge, promClient.Gauge);
});
