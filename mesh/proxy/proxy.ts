/**
 * The proxy's composition root: builds identity, discovery, pools, metrics and the three sides
 * (inbound, outbound, admin) from a ProxyConfig, starts their listeners, and shuts down gracefully.
 * What only some configurations use (the identity service's client, the destination service's
 * client) is imported when configured: RSS (docs/performance.md).
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { Gauge } from './metrics/prom';
import { WEFT_VERSION } from '../config/names';
import { formatAddr, type Discovery, type SocketAddr } from './discovery/discovery';
import { NoDiscovery, StaticFileDiscovery } from './discovery/static-file';
import { startAdminServer, type AdminServer } from './admin/admin-server';
import type { ProxyConfig } from './config';
import { Inbound } from './inbound/inbound';
import type { Logger } from './log';
import { ProxyMetrics } from './metrics/proxy-metrics';
import { Destinations } from './outbound/destinations';
import { Outbound } from './outbound/outbound';
import { listenAll } from './listeners';
import { OutboundHttp } from './outbound/outbound-http';
import { OutboundTcp } from './outbound/outbound-tcp';
import { InboundAuthorizer } from './policy/authorizer';
import { startInboundPolicy } from './policy/policy-source';
import { IdentityCerts } from './tls/identity-certs';
import { UpstreamPools } from './transport/upstream-pools';
import { LLHTTP_USABLE } from './transport/llhttp';

export interface RunningProxy {
  /** Bound addresses (ports resolved when 0 was asked for). */
  inbound: SocketAddr | undefined;
  outbound: SocketAddr | undefined;
  admin: SocketAddr;
  /** Every address each listener serves (the ones above first; more for dual stack). */
  listening: { inbound: SocketAddr[]; outbound: SocketAddr[]; admin: SocketAddr[] };
  httpProxy: SocketAddr | undefined;
  upstreams: { authority: string; listen: SocketAddr }[];
  identity: string | undefined;
  metrics: ProxyMetrics;
  /** Stop accepting, let in-flight requests finish within the grace period, then close everything. */
  shutdown(): Promise<void>;
}

export async function startProxy(config: ProxyConfig, log: Logger, opts: { discovery?: Discovery } = {}): Promise<RunningProxy> {
  const cleanups: (() => unknown)[] = [];
  const servers: net.Server[] = [];
  try {
    const metrics = new ProxyMetrics();
    let ready = false;
    // The admin server comes first: /live answers (and /ready says no) while the identity is obtained.
    const admin: AdminServer = await startAdminServer({ host: config.admin.host, port: config.admin.port, alsoListen: config.alsoListen.admin, log, metrics, ready: () => ready });
    cleanups.push(() => admin.close());

    let certs: IdentityCerts | undefined;
    if (config.identityService) {
      const svc = config.identityService;
      const trustAnchorsPem = await readFile(svc.trustAnchorsFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new Error(`WEFT_PROXY_TRUST_ANCHORS ${svc.trustAnchorsFile}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
      });
      const { startCertificateRenewal } = await import('./tls/identity-client');
      const renewal = startCertificateRenewal(
        { addr: svc.addr, tokenFile: svc.tokenFile, identity: svc.name, dir: svc.dir, trustAnchorsPem },
        {
          registry: metrics.registry,
          onError: (e, retryInMs) => log.warn('identity: certificate request failed', { error: e.message, retryInMs }),
          onRenewed: (c) => log.info('identity: certificate obtained', { identity: svc.name, notAfter: c.notAfter.toISOString() }),
        },
      );
      cleanups.push(() => renewal.stop());
      log.info('identity: waiting for a certificate', { service: svc.addr, identity: svc.name });
      await renewal.ready;
    }
    if (config.identity) {
      certs = await IdentityCerts.load(config.identity);
      certs.watch();
      certs.on('rotated', (id: string) => log.info('identity certificate rotated', { identity: id }));
      certs.on('reload-error', (e: Error) => log.warn('identity reload refused; keeping the current certificate', { error: e.message }));
      cleanups.push(() => certs!.close());
    } else {
      log.warn('no identity configured (WEFT_PROXY_IDENTITY_DIR): meshed endpoints cannot be reached and inbound mTLS is off');
    }
    recordBuildInfo(metrics, certs?.identity, config.workloadLabels);
    const discovery = opts.discovery ?? (await openDiscovery(config, log));
    cleanups.push(() => discovery.close());
    const leanHttp1 = config.http1Engine === 'lean' && LLHTTP_USABLE;
    if (config.http1Engine === 'lean' && !LLHTTP_USABLE) {
      log.warn(`HTTP/1.1 is served by node:http: Node ${process.version}'s llhttp binding is not the one the lean path knows`);
    }
    const pools = new UpstreamPools(certs, log, undefined, leanHttp1);
    cleanups.push(() => pools.close());
    const destinations = new Destinations(discovery, log);
    cleanups.push(() => destinations.close());
    const outboundHttp = new OutboundHttp({ destinations, pools, metrics, log });
    const outboundTcp = new OutboundTcp({ destinations, pools, metrics, log });
    const outbound = new Outbound({
      metrics,
      http: outboundHttp,
      tcp: outboundTcp,
      destinations,
      log,
      opaquePorts: config.outboundOpaquePorts,
      detectTimeoutMs: config.detectTimeoutMs,
      maxHeaderBytes: config.maxHeaderBytes,
      headerTimeoutMs: config.headerTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      leanHttp1,
    });
    // Inbound policy: with the policy service, inbound traffic waits for the first table.
    const policy = config.inbound ? await startInboundPolicy(config.policy, log) : undefined;
    if (policy) cleanups.push(() => policy.close());
    const inbound = new Inbound({
      authz: policy && new InboundAuthorizer(policy, metrics, log),
      certs,
      pools,
      metrics,
      log,
      appHost: config.appHost,
      appPort: config.appPort,
      opaquePorts: config.inboundOpaquePorts,
      detectTimeoutMs: config.detectTimeoutMs,
      maxHeaderBytes: config.maxHeaderBytes,
      headerTimeoutMs: config.headerTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      leanHttp1,
    });

    /** One listener on its addresses; each connection is handed over with the address it came in on. */
    const serveAll = async (addrs: SocketAddr[], what: string, onConn: (s: net.Socket, bound: SocketAddr) => void): Promise<SocketAddr[]> => {
      const { bound, servers: listening } = await listenAll(addrs, () => net.createServer({ allowHalfOpen: true, noDelay: true }), log, what);
      servers.push(...listening);
      listening.forEach((server, i) => server.on('connection', (s) => onConn(s, bound[i]!)));
      return bound;
    };
    const serve = async (addr: SocketAddr, what: string, onConn: (s: net.Socket, bound: SocketAddr) => void): Promise<SocketAddr> => (await serveAll([addr], what, onConn))[0]!;

    const inboundAddrs = config.inbound ? await serveAll([config.inbound, ...config.alsoListen.inbound], 'inbound listener', (s) => void inbound.accept(s)) : [];
    const inboundAddr = inboundAddrs[0];
    inbound.setListenPorts(inboundAddrs.map((a) => a.port));
    const outboundAddrs = config.outbound ? await serveAll([config.outbound, ...config.alsoListen.outbound], 'outbound listener', (s, bound) => outbound.acceptTransparent(s, bound)) : [];
    const outboundAddr = outboundAddrs[0];
    const httpProxyAddr = config.httpProxy && (await serve(config.httpProxy, 'HTTP proxy listener', (s) => outbound.acceptForwardProxy(s)));
    const upstreams: RunningProxy['upstreams'] = [];
    for (const u of config.upstreams) {
      const bound = await serve(u.listen, `upstream listener of ${u.authority}`, (s) => void outbound.accept(s, u.authority, undefined, true));
      upstreams.push({ authority: u.authority, listen: bound });
      destinations.get(u.authority); // resolve ahead of the first connection
    }
    ready = true;
    log.info('proxy ready', {
      identity: certs?.identity ?? 'none',
      inbound: inboundAddrs.length ? inboundAddrs.map(formatAddr).join(',') : 'off',
      outbound: outboundAddrs.length ? outboundAddrs.map(formatAddr).join(',') : 'off',
      admin: admin.addresses.map(formatAddr).join(','),
      http1: leanHttp1 ? 'lean' : 'node',
      ...(httpProxyAddr ? { httpProxy: formatAddr(httpProxyAddr) } : {}),
      ...(upstreams.length ? { upstreams: upstreams.map((u) => `${u.authority}=${formatAddr(u.listen)}`).join(',') } : {}),
    });

    let shuttingDown: Promise<void> | undefined;
    const shutdown = (): Promise<void> =>
      (shuttingDown ??= (async () => {
        ready = false;
        log.info('proxy shutting down', { graceMs: config.shutdownGraceMs });
        // Stop accepting now. close()'s callback would wait for every open connection (keep-alive
        // clients, pooled peer proxies) to end by itself: the drain below closes them instead.
        for (const s of servers) s.close();
        const deadline = Date.now() + config.shutdownGraceMs;
        while (Date.now() < deadline && inbound.openConnections + outbound.openConnections > 0) {
          inbound.drain();
          outbound.drain();
          await new Promise((r) => setTimeout(r, 50));
        }
        inbound.destroyAll();
        outbound.destroyAll();
        for (const c of cleanups.reverse()) await c();
        log.info('proxy stopped');
      })());

    return {
      inbound: inboundAddr,
      outbound: outboundAddr,
      listening: { inbound: inboundAddrs, outbound: outboundAddrs, admin: admin.addresses },
      admin: admin.address,
      httpProxy: httpProxyAddr,
      upstreams,
      identity: certs?.identity,
      metrics,
      shutdown,
    };
  } catch (e) {
    for (const s of servers) s.close();
    for (const c of cleanups.reverse()) await c();
    throw e;
  }
}

/** Discovery from the destination service, a destination file, or none. */
async function openDiscovery(config: ProxyConfig, log: Logger): Promise<Discovery> {
  const say = (level: 'info' | 'warn', msg: string): void => log[level](msg);
  if (config.destinationAddr) {
    const { DestinationClient } = await import('./discovery/destination-client');
    return new DestinationClient({ addr: formatAddr(config.destinationAddr), log: say });
  }
  if (config.destinationFile) return StaticFileDiscovery.open(config.destinationFile, { log: say });
  return new NoDiscovery();
}

/**
 * `proxy_build_info{version, identity, <workload labels>} 1`: the Prometheus "info" pattern, so a
 * scrape says which workload it came from (WEFT_PROXY_WORKLOAD_LABELS) without adding labels to
 * every series (Linkerd's series stay as they are).
 */
export function recordBuildInfo(metrics: ProxyMetrics, identity: string | undefined, workload: Record<string, string>): void {
  const extra = Object.keys(workload).filter((k) => k !== 'version' && k !== 'identity');
  const gauge = new Gauge({
    name: 'proxy_build_info',
    help: 'Weft proxy version, identity and workload (always 1)',
    labelNames: ['version', 'identity', ...extra],
    registers: [metrics.registry],
  });
  const labels: Record<string, string> = { version: WEFT_VERSION, identity: identity ?? '' };
  for (const k of extra) labels[k] = workload[k]!;
  gauge.set(labels, 1);
}
