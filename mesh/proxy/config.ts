/**
 * The proxy's configuration, read from WEFT_PROXY_* environment variables (docs/proxy.md).
 * Pure: `parseProxyConfig(env)` returns the config or every problem found, each naming its variable.
 */
import { parseIdentityName } from '../config/identity';
import { DEFAULT_OPAQUE_PORTS, PROXY_TOKEN_DIR, PROXY_TOKEN_FILE } from '../config/names';
import { PROXY_ADMIN_PORT, PROXY_INBOUND_PORT, PROXY_OUTBOUND_PORT } from '../config/ports';
import { PROXY_DEFAULTS } from '../config/proxy-defaults';
import { parseAddr, type SocketAddr } from './discovery/discovery';
import { parsePolicyConfig, type PolicyConfig } from './policy/policy-config';
import { parseDuration } from './reliability/retry-policy';

export interface UpstreamListener {
  /** Where the app connects (loopback). */
  listen: SocketAddr;
  /** The service it stands for, as `host:port`. */
  authority: string;
}

export interface ProxyConfig {
  inbound: SocketAddr | undefined;
  /** Transparent outbound listener (SO_ORIGINAL_DST); undefined when off. */
  outbound: SocketAddr | undefined;
  admin: SocketAddr;
  /**
   * More addresses of the inbound, outbound and admin listeners: the rest of their comma lists
   * (`127.0.0.1:4140,[::1]:4140`), for dual-stack pods (./listeners.ts).
   */
  alsoListen: { inbound: SocketAddr[]; outbound: SocketAddr[]; admin: SocketAddr[] };
  httpProxy: SocketAddr | undefined;
  upstreams: UpstreamListener[];
  /** Where inbound traffic is forwarded: the app's host. */
  appHost: string;
  /** App port for inbound plaintext that carries no original destination (explicit mode). */
  appPort: number | undefined;
  inboundOpaquePorts: Set<number>;
  outboundOpaquePorts: Set<number>;
  identity: { certFile: string; keyFile: string; trustAnchorsFile: string } | undefined;
  /** Certificates from the identity service (CSR + token), written into the identity dir and renewed. */
  identityService: { addr: string; tokenFile: string; name: string; dir: string; trustAnchorsFile: string } | undefined;
  destinationFile: string | undefined;
  /** The destination service (`host:port`, HTTP/2 streams of updates); exclusive with destinationFile. */
  destinationAddr: SocketAddr | undefined;
  detectTimeoutMs: number;
  shutdownGraceMs: number;
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** HTTP/1.1 on the proxy's own llhttp paths ('lean', the default) or on node:http ('node'). */
  http1Engine: 'lean' | 'node';
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'plain' | 'json';
  /** Static `dst_*`-style labels describing this proxy's own workload (pod, namespace…). */
  workloadLabels: Record<string, string>;
  /** Inbound policy (WEFT_PROXY_POLICY_*, WEFT_PROXY_DEFAULT_INBOUND_POLICY); absent: all-unauthenticated. */
  policy?: PolicyConfig;
}

export type ConfigResult = { ok: true; config: ProxyConfig } | { ok: false; errors: string[] };

type Env = Record<string, string | undefined>;

export function parseProxyConfig(env: Env): ConfigResult {
  const errors: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const addr = (name: string, fallback: SocketAddr | undefined): SocketAddr | undefined => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (v === 'off') return undefined;
    const a = parseAddr(v, { allowPortZero: true });
    if (!a) errors.push(`${name}: expected host:port or "off", got "${v}"`);
    return a;
  };
  /** A listener's addresses: `host:port[,host:port…]` or "off" ([]); the first is the primary one. */
  const addrList = (name: string, fallback: SocketAddr[]): SocketAddr[] => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (v === 'off') return [];
    const items = v.split(',').map((s) => s.trim());
    const out: SocketAddr[] = [];
    for (const item of items) {
      const a = parseAddr(item, { allowPortZero: true });
      if (!a) errors.push(`${name}: expected host:port[,host:port…] or "off", got "${item}"${items.length > 1 ? ` in "${v}"` : ''}`);
      else if (out.some((o) => o.host === a.host && o.port === a.port)) errors.push(`${name}: ${item} is listed twice`);
      else out.push(a);
    }
    return out;
  };
  const ms = (name: string, fallback: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    const d = parseDuration(v);
    if (!d.ok) errors.push(`${name}: ${d.error}`);
    return d.ok ? Math.round(d.ms) : fallback;
  };
  const int = (name: string, fallback: number | undefined): number | undefined => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) {
      errors.push(`${name}: expected a whole number, got "${v}"`);
      return fallback;
    }
    return Number(v);
  };
  const ports = (name: string, fallback: readonly number[]): Set<number> => {
    const v = get(name);
    if (v === undefined) return new Set(fallback);
    const r = parsePortList(v);
    if (typeof r === 'string') {
      errors.push(`${name}: ${r}`);
      return new Set(fallback);
    }
    return r;
  };

  const upstreams: UpstreamListener[] = [];
  const ups = get('WEFT_PROXY_UPSTREAMS');
  if (ups) {
    for (const item of ups.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = item.lastIndexOf('=');
      const authority = eq > 0 ? item.slice(0, eq) : '';
      const listen = eq > 0 ? parseAddr(item.slice(eq + 1), { allowPortZero: true }) : undefined;
      if (!listen || !parseAddr(authority)) {
        errors.push(`WEFT_PROXY_UPSTREAMS: expected service:port=127.0.0.1:PORT, got "${item}"`);
        continue;
      }
      upstreams.push({ authority, listen });
    }
  }

  let identity: ProxyConfig['identity'];
  const dir = get('WEFT_PROXY_IDENTITY_DIR');
  const certFile = get('WEFT_PROXY_IDENTITY_CERT') ?? (dir && `${dir}/tls.crt`);
  const keyFile = get('WEFT_PROXY_IDENTITY_KEY') ?? (dir && `${dir}/tls.key`);
  const trustAnchorsFile = get('WEFT_PROXY_TRUST_ANCHORS') ?? (dir && `${dir}/ca.crt`);
  if (certFile || keyFile || trustAnchorsFile) {
    if (!certFile || !keyFile || !trustAnchorsFile) {
      errors.push('WEFT_PROXY_IDENTITY_DIR (or _CERT, _KEY and WEFT_PROXY_TRUST_ANCHORS together): all three files are needed for mTLS');
    } else identity = { certFile, keyFile, trustAnchorsFile };
  }

  let identityService: ProxyConfig['identityService'];
  const idAddr = get('WEFT_PROXY_IDENTITY_ADDR');
  if (idAddr) {
    const name = get('WEFT_PROXY_IDENTITY_NAME');
    if (!parseAddr(idAddr)) errors.push(`WEFT_PROXY_IDENTITY_ADDR: expected host:port, got "${idAddr}"`);
    if (!name || !parseIdentityName(name)) errors.push(`WEFT_PROXY_IDENTITY_NAME: expected <sa>.<ns>.serviceaccount.identity.weft.<trust-domain>, got "${name ?? ''}"`);
    if (!dir) errors.push('WEFT_PROXY_IDENTITY_DIR: needed with WEFT_PROXY_IDENTITY_ADDR (where the key and certificate are written)');
    const anchors = get('WEFT_PROXY_TRUST_ANCHORS');
    if (!anchors) errors.push('WEFT_PROXY_TRUST_ANCHORS: needed with WEFT_PROXY_IDENTITY_ADDR (to trust the identity service before any certificate exists)');
    if (name && dir && anchors) {
      identityService = {
        addr: idAddr,
        tokenFile: get('WEFT_PROXY_IDENTITY_TOKEN_FILE') ?? `${PROXY_TOKEN_DIR}/${PROXY_TOKEN_FILE}`,
        name,
        dir,
        trustAnchorsFile: anchors,
      };
    }
  }

  const logLevel = (get('WEFT_PROXY_LOG') ?? 'info') as ProxyConfig['logLevel'];
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) errors.push(`WEFT_PROXY_LOG: expected error, warn, info or debug, got "${logLevel}"`);
  const logFormat = (get('WEFT_PROXY_LOG_FORMAT') ?? 'plain') as ProxyConfig['logFormat'];
  if (!['plain', 'json'].includes(logFormat)) errors.push(`WEFT_PROXY_LOG_FORMAT: expected plain or json, got "${logFormat}"`);

  const workloadLabels: Record<string, string> = {};
  const wl = get('WEFT_PROXY_WORKLOAD_LABELS');
  if (wl) {
    for (const kv of wl.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^([a-z_][a-z0-9_]*)=(.*)$/.exec(kv);
      if (m) workloadLabels[m[1]!] = m[2]!;
      else errors.push(`WEFT_PROXY_WORKLOAD_LABELS: expected name=value pairs, got "${kv}"`);
    }
  }

  const policy = parsePolicyConfig(env);
  errors.push(...policy.errors);

  const engine = get('WEFT_PROXY_HTTP1_ENGINE') ?? 'lean';
  if (engine !== 'lean' && engine !== 'node') errors.push(`WEFT_PROXY_HTTP1_ENGINE: expected lean or node, got "${engine}"`);

  const inboundAddrs = addrList('WEFT_PROXY_INBOUND_ADDR', [{ host: '0.0.0.0', port: PROXY_INBOUND_PORT }]);
  const outboundAddrs = addrList('WEFT_PROXY_OUTBOUND_ADDR', [{ host: '127.0.0.1', port: PROXY_OUTBOUND_PORT }]);
  const adminAddrs = addrList('WEFT_PROXY_ADMIN_ADDR', [{ host: '0.0.0.0', port: PROXY_ADMIN_PORT }]);
  if (get('WEFT_PROXY_ADMIN_ADDR') === 'off') errors.push('WEFT_PROXY_ADMIN_ADDR: the admin server cannot be off (probes and metrics need it)');
  const config: ProxyConfig = {
    inbound: inboundAddrs[0],
    outbound: outboundAddrs[0],
    admin: adminAddrs[0] ?? { host: '0.0.0.0', port: PROXY_ADMIN_PORT },
    alsoListen: { inbound: inboundAddrs.slice(1), outbound: outboundAddrs.slice(1), admin: adminAddrs.slice(1) },
    httpProxy: addr('WEFT_PROXY_HTTP_PROXY_ADDR', undefined),
    upstreams,
    appHost: get('WEFT_PROXY_APP_HOST') ?? '127.0.0.1',
    appPort: int('WEFT_PROXY_APP_PORT', undefined),
    inboundOpaquePorts: ports('WEFT_PROXY_INBOUND_OPAQUE_PORTS', DEFAULT_OPAQUE_PORTS),
    outboundOpaquePorts: ports('WEFT_PROXY_OUTBOUND_OPAQUE_PORTS', DEFAULT_OPAQUE_PORTS),
    identity,
    identityService,
    destinationFile: get('WEFT_PROXY_DESTINATION_FILE'),
    destinationAddr: addr('WEFT_PROXY_DESTINATION_ADDR', undefined),
    detectTimeoutMs: ms('WEFT_PROXY_DETECT_TIMEOUT', PROXY_DEFAULTS.detectTimeoutMs),
    shutdownGraceMs: ms('WEFT_PROXY_SHUTDOWN_GRACE', PROXY_DEFAULTS.shutdownGraceMs),
    maxHeaderBytes: int('WEFT_PROXY_MAX_HEADER_BYTES', PROXY_DEFAULTS.maxHeaderBytes) ?? PROXY_DEFAULTS.maxHeaderBytes,
    headerTimeoutMs: ms('WEFT_PROXY_HEADER_TIMEOUT', PROXY_DEFAULTS.headerTimeoutMs),
    idleTimeoutMs: ms('WEFT_PROXY_IDLE_TIMEOUT', PROXY_DEFAULTS.idleTimeoutMs),
    http1Engine: engine === 'node' ? 'node' : 'lean',
    logLevel,
    logFormat,
    workloadLabels,
    policy: policy.config,
  };
  if (config.appPort !== undefined && (config.appPort < 1 || config.appPort > 65535)) errors.push('WEFT_PROXY_APP_PORT: not a port number');
  if (config.destinationAddr && config.destinationFile) errors.push('WEFT_PROXY_DESTINATION_ADDR: give either it or WEFT_PROXY_DESTINATION_FILE, not both');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** "25,587,3306" or ranges "4000-4010"; returns an error message string for bad input. */
export function parsePortList(s: string): Set<number> | string {
  const out = new Set<number>();
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || hi < lo) return `expected ports or ranges like 25,3306,4000-4010, got "${part}"`;
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return out;
}
