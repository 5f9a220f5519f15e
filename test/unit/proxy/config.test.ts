import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_OPAQUE_PORTS } from '../../../mesh/config/names';
import { PROXY_ADMIN_PORT, PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT } from '../../../mesh/config/ports';
import { PROXY_DEFAULTS } from '../../../mesh/config/proxy-defaults';
import { parsePortList, parseProxyConfig, type ProxyConfig } from '../../../mesh/proxy/config';

function ok(env: Record<string, string>): ProxyConfig {
  const r = parseProxyConfig(env);
  if (!r.ok) assert.fail(`unexpected errors: ${r.errors.join('; ')}`);
  return r.config;
}
function errors(env: Record<string, string>): string[] {
  const r = parseProxyConfig(env);
  if (r.ok) assert.fail(`expected errors for ${JSON.stringify(env)}`);
  return r.errors;
}

test('an empty environment gives the documented defaults', () => {
  const c = ok({});
  assert.deepEqual(c.inbound, { host: '0.0.0.0', port: PROXY_INBOUND_PORT });
  assert.deepEqual(c.outbound, { host: '127.0.0.1', port: PROXY_OUTBOUND_PORT });
  assert.deepEqual(c.admin, { host: '0.0.0.0', port: PROXY_ADMIN_PORT });
  assert.equal(c.httpProxy, undefined);
  assert.deepEqual(c.upstreams, []);
  assert.equal(c.appHost, '127.0.0.1');
  assert.equal(c.appPort, undefined);
  assert.deepEqual([...c.inboundOpaquePorts].sort((a, b) => a - b), [...DEFAULT_OPAQUE_PORTS]);
  assert.deepEqual([...c.outboundOpaquePorts].sort((a, b) => a - b), [...DEFAULT_OPAQUE_PORTS]);
  assert.equal(c.identity, undefined);
  assert.equal(c.http1Engine, 'lean');
  assert.equal(c.destinationFile, undefined);
  assert.equal(c.detectTimeoutMs, PROXY_DEFAULTS.detectTimeoutMs);
  assert.equal(c.shutdownGraceMs, PROXY_DEFAULTS.shutdownGraceMs);
  assert.equal(c.maxHeaderBytes, PROXY_DEFAULTS.maxHeaderBytes);
  assert.equal(c.headerTimeoutMs, PROXY_DEFAULTS.headerTimeoutMs);
  assert.equal(c.idleTimeoutMs, PROXY_DEFAULTS.idleTimeoutMs);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.logFormat, 'plain');
  assert.deepEqual(c.workloadLabels, {});
});

test('empty and blank values count as unset', () => {
  const c = ok({ WEFT_PROXY_INBOUND_ADDR: '', WEFT_PROXY_DETECT_TIMEOUT: '   ', WEFT_PROXY_LOG: '' });
  assert.deepEqual(c.inbound, { host: '0.0.0.0', port: PROXY_INBOUND_PORT });
  assert.equal(c.detectTimeoutMs, PROXY_DEFAULTS.detectTimeoutMs);
  assert.equal(c.logLevel, 'info');
});

test('every variable is read', () => {
  const c = ok({
    WEFT_PROXY_INBOUND_ADDR: '[::]:14143',
    WEFT_PROXY_OUTBOUND_ADDR: 'off',
    WEFT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
    WEFT_PROXY_HTTP_PROXY_ADDR: '127.0.0.1:3128',
    WEFT_PROXY_UPSTREAMS: 'web.demo:80=127.0.0.1:0, redis.demo:6379=127.0.0.1:16379',
    WEFT_PROXY_APP_HOST: '::1',
    WEFT_PROXY_APP_PORT: '8080',
    WEFT_PROXY_INBOUND_OPAQUE_PORTS: '3306',
    WEFT_PROXY_OUTBOUND_OPAQUE_PORTS: '4000-4002,25',
    WEFT_PROXY_IDENTITY_DIR: '/id',
    WEFT_PROXY_DESTINATION_FILE: '/etc/weft/destinations.yaml',
    WEFT_PROXY_DETECT_TIMEOUT: '1s',
    WEFT_PROXY_SHUTDOWN_GRACE: '1m30s',
    WEFT_PROXY_MAX_HEADER_BYTES: '2048',
    WEFT_PROXY_HEADER_TIMEOUT: '250ms',
    WEFT_PROXY_IDLE_TIMEOUT: '1h',
    WEFT_PROXY_LOG: 'debug',
    WEFT_PROXY_LOG_FORMAT: 'json',
    WEFT_PROXY_WORKLOAD_LABELS: 'pod=web-1, namespace=demo',
    WEFT_PROXY_HTTP1_ENGINE: 'node',
  });
  assert.equal(c.http1Engine, 'node');
  assert.deepEqual(c.inbound, { host: '::', port: 14143 });
  assert.equal(c.outbound, undefined);
  assert.deepEqual(c.admin, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(c.httpProxy, { host: '127.0.0.1', port: 3128 });
  assert.deepEqual(c.upstreams, [
    { authority: 'web.demo:80', listen: { host: '127.0.0.1', port: 0 } },
    { authority: 'redis.demo:6379', listen: { host: '127.0.0.1', port: 16379 } },
  ]);
  assert.equal(c.appHost, '::1');
  assert.equal(c.appPort, 8080);
  assert.deepEqual([...c.inboundOpaquePorts], [3306]);
  assert.deepEqual([...c.outboundOpaquePorts].sort((a, b) => a - b), [25, 4000, 4001, 4002]);
  assert.deepEqual(c.identity, { certFile: '/id/tls.crt', keyFile: '/id/tls.key', trustAnchorsFile: '/id/ca.crt' });
  assert.equal(c.destinationFile, '/etc/weft/destinations.yaml');
  assert.equal(c.detectTimeoutMs, 1000);
  assert.equal(c.shutdownGraceMs, 90_000);
  assert.equal(c.maxHeaderBytes, 2048);
  assert.equal(c.headerTimeoutMs, 250);
  assert.equal(c.idleTimeoutMs, 3_600_000);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.logFormat, 'json');
  assert.deepEqual(c.workloadLabels, { pod: 'web-1', namespace: 'demo' });
});

test('identity files: the directory, single files overriding it, or all three files', () => {
  const c = ok({ WEFT_PROXY_IDENTITY_DIR: '/id', WEFT_PROXY_IDENTITY_KEY: '/secret/key.pem' });
  assert.deepEqual(c.identity, { certFile: '/id/tls.crt', keyFile: '/secret/key.pem', trustAnchorsFile: '/id/ca.crt' });
  const f = ok({ WEFT_PROXY_IDENTITY_CERT: '/c', WEFT_PROXY_IDENTITY_KEY: '/k', WEFT_PROXY_TRUST_ANCHORS: '/a' });
  assert.deepEqual(f.identity, { certFile: '/c', keyFile: '/k', trustAnchorsFile: '/a' });
  const e = errors({ WEFT_PROXY_IDENTITY_CERT: '/c' });
  assert.equal(e.length, 1);
  assert.match(e[0]!, /^WEFT_PROXY_IDENTITY_DIR \(or _CERT, _KEY and WEFT_PROXY_TRUST_ANCHORS together\): /);
});

test('every bad value is reported, each message starting with its variable', () => {
  const bad: Record<string, string> = {
    WEFT_PROXY_INBOUND_ADDR: 'nowhere',
    WEFT_PROXY_OUTBOUND_ADDR: '127.0.0.1:99999',
    WEFT_PROXY_ADMIN_ADDR: ':4191',
    WEFT_PROXY_HTTP_PROXY_ADDR: '127.0.0.1',
    WEFT_PROXY_UPSTREAMS: 'web.demo=127.0.0.1:0',
    WEFT_PROXY_APP_PORT: 'eighty',
    WEFT_PROXY_INBOUND_OPAQUE_PORTS: '25,smtp',
    WEFT_PROXY_OUTBOUND_OPAQUE_PORTS: '10-5',
    WEFT_PROXY_DETECT_TIMEOUT: '10',
    WEFT_PROXY_SHUTDOWN_GRACE: 'soon',
    WEFT_PROXY_MAX_HEADER_BYTES: '16k',
    WEFT_PROXY_HEADER_TIMEOUT: '-1s',
    WEFT_PROXY_IDLE_TIMEOUT: '5 minutes',
    WEFT_PROXY_LOG: 'verbose',
    WEFT_PROXY_LOG_FORMAT: 'xml',
    WEFT_PROXY_WORKLOAD_LABELS: 'Pod=web',
    WEFT_PROXY_HTTP1_ENGINE: 'undici',
  };
  const all = errors(bad);
  assert.equal(all.length, Object.keys(bad).length, all.join('\n'));
  for (const name of Object.keys(bad)) {
    const one = errors({ [name]: bad[name]! });
    assert.equal(one.length, 1, `${name}: ${one.join('; ')}`);
    assert.ok(one[0]!.startsWith(`${name}: `), one[0]);
  }
});

test('the app port must be a port number', () => {
  for (const v of ['0', '65536', '100000']) assert.deepEqual(errors({ WEFT_PROXY_APP_PORT: v }), ['WEFT_PROXY_APP_PORT: not a port number']);
  assert.equal(ok({ WEFT_PROXY_APP_PORT: '65535' }).appPort, 65535);
});

test('port lists take single ports and ranges and refuse the rest', () => {
  assert.deepEqual([...(parsePortList('25, 587 ,3306') as Set<number>)], [25, 587, 3306]);
  assert.deepEqual([...(parsePortList('4000-4003') as Set<number>)], [4000, 4001, 4002, 4003]);
  assert.deepEqual([...(parsePortList('') as Set<number>)], []);
  for (const bad of ['0', '65536', '10-5', 'abc', '1-', '-1', '1.5']) {
    const r = parsePortList(bad);
    assert.equal(typeof r, 'string', bad);
    assert.match(r as string, /expected ports or ranges/);
  }
});

test('the identity service needs a name, a directory and trust anchors, each error naming its variable', () => {
  const r = parseProxyConfig({ WEFT_PROXY_IDENTITY_ADDR: '127.0.0.1:8080', WEFT_PROXY_IDENTITY_NAME: 'not-an-identity' });
  assert.equal(r.ok, false);
  const errors = r.ok ? [] : r.errors;
  assert.ok(errors.some((e) => e.startsWith('WEFT_PROXY_IDENTITY_NAME:')), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('WEFT_PROXY_IDENTITY_DIR:')), errors.join('\n'));
  assert.ok(errors.some((e) => e.startsWith('WEFT_PROXY_TRUST_ANCHORS:')), errors.join('\n'));
  const ok = parseProxyConfig({
    WEFT_PROXY_IDENTITY_ADDR: '127.0.0.1:8080',
    WEFT_PROXY_IDENTITY_NAME: 'web.demo.serviceaccount.identity.weft.cluster.local',
    WEFT_PROXY_IDENTITY_DIR: '/run/weft',
    WEFT_PROXY_TRUST_ANCHORS: '/etc/weft/anchors.crt',
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.ok && ok.config.identityService, {
    addr: '127.0.0.1:8080',
    tokenFile: '/var/run/secrets/tokens/weft-identity-token',
    name: 'web.demo.serviceaccount.identity.weft.cluster.local',
    dir: '/run/weft',
    trustAnchorsFile: '/etc/weft/anchors.crt',
  });
});

test('the destination service and the destination file exclude each other', () => {
  const both = parseProxyConfig({ WEFT_PROXY_DESTINATION_ADDR: '127.0.0.1:8086', WEFT_PROXY_DESTINATION_FILE: '/tmp/d.json' });
  assert.ok(!both.ok && both.errors.some((e) => e.startsWith('WEFT_PROXY_DESTINATION_ADDR:')));
  const one = parseProxyConfig({ WEFT_PROXY_DESTINATION_ADDR: '127.0.0.1:8086' });
  assert.ok(one.ok);
  assert.deepEqual(one.ok && one.config.destinationAddr, { host: '127.0.0.1', port: 8086 });
});

test('listeners take a comma list of addresses (dual stack): the first is the primary, the rest are served too', () => {
  const c = ok({ WEFT_PROXY_INBOUND_ADDR: '0.0.0.0:4143, [::]:4143', WEFT_PROXY_OUTBOUND_ADDR: '127.0.0.1:4140,[::1]:4140', WEFT_PROXY_ADMIN_ADDR: '0.0.0.0:4191,[::]:4191' });
  assert.deepEqual(c.inbound, { host: '0.0.0.0', port: 4143 });
  assert.deepEqual(c.outbound, { host: '127.0.0.1', port: 4140 });
  assert.deepEqual(c.admin, { host: '0.0.0.0', port: 4191 });
  assert.deepEqual(c.alsoListen, { inbound: [{ host: '::', port: 4143 }], outbound: [{ host: '::1', port: 4140 }], admin: [{ host: '::', port: 4191 }] });
  assert.deepEqual(ok({}).alsoListen, { inbound: [], outbound: [], admin: [] }, 'one address each by default');
  assert.deepEqual(errors({ WEFT_PROXY_OUTBOUND_ADDR: '127.0.0.1:4140,nowhere' }), ['WEFT_PROXY_OUTBOUND_ADDR: expected host:port[,host:port…] or "off", got "nowhere" in "127.0.0.1:4140,nowhere"']);
  assert.deepEqual(errors({ WEFT_PROXY_INBOUND_ADDR: '[::]:4143,[::]:4143' }), ['WEFT_PROXY_INBOUND_ADDR: [::]:4143 is listed twice']);
  assert.deepEqual(errors({ WEFT_PROXY_ADMIN_ADDR: 'off' }), ['WEFT_PROXY_ADMIN_ADDR: the admin server cannot be off (probes and metrics need it)']);
});
