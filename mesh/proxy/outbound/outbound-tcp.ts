/**
 * Outbound opaque TCP: one endpoint per connection (P2C), a dedicated mTLS connection to a meshed
 * peer (the transport header names the app port) or a plain connection otherwise; bytes counted
 * both ways; half-close propagated.
 */
import type { Duplex } from 'node:stream';
import { formatAddr, parseAddr, type Endpoint, type SocketAddr } from '../discovery/discovery';
import type { Logger } from '../log';
import type { ProxyMetrics, TcpRecorder, TrafficLabels } from '../metrics/proxy-metrics';
import type { UpstreamPools } from '../transport/upstream-pools';
import type { Destinations } from './destinations';

/** Pipes two sockets into each other, counting bytes, ending each side when the other ends. */
export function splice(client: Duplex, upstream: Duplex, rec: TcpRecorder | undefined, onDone?: (error: string | undefined) => void): void {
  let closed = 0;
  let error: string | undefined;
  const close = (): void => {
    if (++closed === 2) {
      rec?.close(error);
      onDone?.(error);
    }
  };
  if (rec) {
    client.on('data', (c: Buffer) => rec.read(c.length));
    upstream.on('data', (c: Buffer) => rec.wrote(c.length));
  }
  client.pipe(upstream);
  upstream.pipe(client);
  const onError = (other: Duplex) => (e: NodeJS.ErrnoException) => {
    error ??= e.code ?? 'EIO';
    other.destroy();
  };
  client.on('error', onError(upstream));
  upstream.on('error', onError(client));
  client.once('close', () => {
    if (!upstream.destroyed && !upstream.writableEnded) upstream.end();
    close();
  });
  upstream.once('close', () => {
    if (!client.destroyed && !client.writableEnded) client.end();
    close();
  });
}

export class OutboundTcp {
  constructor(
    private readonly deps: { destinations: Destinations; pools: UpstreamPools; metrics: ProxyMetrics; log: Logger },
  ) {}

  async forward(client: Duplex, targetAuthority: string, fallback: SocketAddr | undefined, prefix?: Buffer): Promise<void> {
    const { destinations, pools, metrics, log } = this.deps;
    const target = destinations.get(targetAuthority);
    if (target.state === 'pending') await target.ready;
    const port = fallback?.port ?? parseAddr(targetAuthority)?.port ?? 0;
    let ep: Endpoint | undefined;
    let release: ((ok: boolean) => void) | undefined;
    if (target.state === 'found') {
      const lease = target.balancer.pick();
      if (!lease) {
        log.info('no endpoint available; closing connection', { target: targetAuthority });
        client.destroy();
        return;
      }
      ep = lease.endpoint;
      const started = performance.now();
      release = (ok) => lease.release({ ok, rttMs: performance.now() - started });
    }
    const addr = ep?.addr ?? fallback ?? parseAddr(targetAuthority);
    if (!addr) {
      client.destroy();
      return;
    }
    const meshed = !!(ep?.identity && pools.meshEnabled);
    const labels: TrafficLabels = meshed
      ? { direction: 'outbound', authority: targetAuthority, target_addr: formatAddr(addr), tls: 'true', server_id: ep!.identity!, dst: { ...target.profile?.labels, ...ep!.labels } }
      : { direction: 'outbound', authority: targetAuthority, target_addr: formatAddr(addr), tls: 'no_identity', no_tls_reason: 'not_provided_by_service_discovery', dst: { ...target.profile?.labels, ...ep?.labels } };
    let upstream: Duplex;
    try {
      upstream = meshed ? await pools.meshTcp(addr, ep!.identity!, ep!.targetPort ?? port) : await pools.plainTcp(addr);
    } catch (e) {
      release?.(false);
      log.info('opaque connection failed', { target: targetAuthority, error: (e as Error).message });
      client.destroy();
      return;
    }
    if (client.destroyed) {
      release?.(true);
      upstream.destroy();
      return;
    }
    release?.(true);
    const rec = metrics.tcpConnection(labels);
    if (prefix && prefix.length > 0) {
      upstream.write(prefix);
      rec.read(prefix.length);
    }
    splice(client, upstream, rec);
  }
}
