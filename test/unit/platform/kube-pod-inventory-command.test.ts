// `weft metrics-api --kube` arguments (the command over KubePodInventory): options, defaults, usage
// errors, and the arguments `weft install` gives the metrics-api Deployment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseMetricsApiArgs } from '../../../mesh/cli/metrics-api.command';
import { DEFAULT_SCRAPE_INTERVAL_MS } from '../../../mesh/config/metrics-api';
import { CONTROL_PLANE_PORTS } from '../../../mesh/config/ports';
import { componentArgs, installedMeshConfig } from '../../../mesh/control/install/install-manifests';

test('weft metrics-api --kube: defaults and every option', () => {
  assert.deepEqual(parseMetricsApiArgs(['--kube']), { scrapeIntervalMs: DEFAULT_SCRAPE_INTERVAL_MS, listen: { host: '0.0.0.0', port: CONTROL_PLANE_PORTS.metricsApi } });
  assert.deepEqual(parseMetricsApiArgs(['--kube', '--kubeconfig', 'kc', '--listen=127.0.0.1:0', '--prometheus', 'http://prom.weft:9090/', '--scrape-interval', '500ms', '--trust-domain', 'example.org']), {
    kubeconfig: 'kc',
    listen: { host: '127.0.0.1', port: 0 },
    prometheusUrl: 'http://prom.weft:9090',
    scrapeIntervalMs: 500,
    trustDomain: 'example.org',
  });
});

test('weft metrics-api usage errors say what is wrong and what to do', () => {
  assert.match(String(parseMetricsApiArgs([])), /^no --kube: .*weft local up.*weft demo/);
  assert.equal(parseMetricsApiArgs(['--kube', '--bogus']), "unknown argument '--bogus'");
  assert.equal(parseMetricsApiArgs(['--kube', '--listen']), 'missing value for --listen');
  assert.match(String(parseMetricsApiArgs(['--kube', '--listen', 'nope'])), /^--listen: expected host:port, got "nope"/);
  assert.match(String(parseMetricsApiArgs(['--kube', '--prometheus', 'prom:9090'])), /^--prometheus: expected an http\(s\) URL/);
  assert.match(String(parseMetricsApiArgs(['--kube', '--scrape-interval', '5'])), /^--scrape-interval: expected a duration such as 500ms, 5s or 1m, got "5"/);
});

test('durations', () => {
  assert.deepEqual(['250ms', '5s', '2m', ' 1s '].map(parseDuration), [250, 5000, 120_000, 1000]);
  assert.deepEqual(['0s', '5', '1h', '-1s', ''].map(parseDuration), [undefined, undefined, undefined, undefined, undefined]);
});

test("the metrics-api Deployment's arguments from weft install parse", () => {
  const [command, ...args] = componentArgs('metrics-api', installedMeshConfig({ trustDomain: 'example.org' }));
  assert.equal(command, 'metrics-api');
  const a = parseMetricsApiArgs(args);
  assert.ok(typeof a !== 'string', String(a));
  assert.deepEqual(a.listen, { host: '0.0.0.0', port: CONTROL_PLANE_PORTS.metricsApi });
  assert.equal(a.trustDomain, 'example.org');
});
