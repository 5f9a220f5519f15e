/**
 * A two-hop mesh on loopback for integration tests: a throwaway CA, one identity directory per
 * proxy, a destination file, server proxies in explicit mode (WEFT_PROXY_APP_PORT) in front of apps
 * the test runs itself, and a client proxy with an upstream listener (WEFT_PROXY_UPSTREAMS) and an
 * HTTP forward-proxy port (WEFT_PROXY_HTTP_PROXY_ADDR). One `close()` stops every proxy and removes
 * every temp dir, whatever state the test left things in.
 *
 *   test client ──► client proxy (upstream | HTTP proxy) ──mTLS HTTP/2──► server proxy ──► app
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { identityName } from '../../mesh/config/identity';
import { createDevCa, type DevCa } from '../../mesh/control/identity/ca';
import { formatAddr, type SocketAddr } from '../../mesh/proxy/discovery/discovery';
import { spawnProxy, type ProxyProcess } from '../../dev-cluster/local/proxy-process';

export const CLIENT_IDENTITY = identityName({ serviceAccount: 'client', namespace: 'demo' });
export const SERVER_IDENTITY = identityName({ serviceAccount: 'web', namespace: 'demo' });

export interface ServerSpec {
  /** The app's port on 127.0.0.1 (the test runs the app). */
  appPort: number;
  /** The identity of the server proxy's certificate (default SERVER_IDENTITY). */
  identity?: string;
  /** The identity the destination file tells the client to expect (default: `identity`). */
  advertisedIdentity?: string;
  /** Issue the server's certificate from a second, unrelated CA. */
  foreignCa?: boolean;
  /** Endpoint labels in the destination file (default: pod=web-<index>). */
  labels?: Record<string, string>;
  env?: Record<string, string>;
}

export interface MeshOptions {
  servers: ServerSpec[];
  /** Service authorities that resolve to the servers; the first gets the upstream listener. */
  authorities?: string[];
  /** Extra per-destination settings (retry, timeouts, opaque …), as in the destination file. */
  profile?: Record<string, unknown>;
  /** Destination labels (default service=web, namespace=demo). */
  labels?: Record<string, string>;
  clientEnv?: Record<string, string>;
  /** More entries for the destination file, written as given (e.g. an impostor endpoint). */
  extraDestinations?: Record<string, unknown>[];
  /** Use this CA instead of a new one (to issue certificates before the mesh starts). */
  ca?: DevCa;
}

export interface ServerSide {
  proxy: ProxyProcess;
  identity: string;
  identityDir: string;
  /** The server proxy's inbound listener (what the destination file lists). */
  inbound: SocketAddr;
  appPort: number;
}

export interface Mesh {
  ca: DevCa;
  /** The CA that signs `foreignCa` servers (created only when one asks for it). */
  foreignCa: DevCa | undefined;
  dir: string;
  destinationFile: string;
  authority: string;
  client: ProxyProcess;
  servers: ServerSide[];
  /** The client proxy's upstream listener for `authority`. */
  upstream: SocketAddr;
  /** The client proxy's HTTP forward-proxy port. */
  httpProxy: SocketAddr;
  /** http://<upstream listener><path>. */
  url(path?: string): string;
  /** GET /metrics of a proxy's admin server, as text. */
  metrics(proxy: ProxyProcess): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_AUTHORITY = 'web.demo:8080';

/** Starts the mesh; on any failure everything already started is stopped before the error is thrown. */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mesh-'));
  const started: ProxyProcess[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop(2_000).catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = opts.ca ?? (await createDevCa());
    const foreignCa = opts.servers.some((s) => s.foreignCa) ? await createDevCa() : undefined;
    const authorities = opts.authorities ?? [DEFAULT_AUTHORITY];
    const authority = authorities[0]!;

    const clientDir = join(dir, 'client-identity');
    await ca.writeIdentity(clientDir, CLIENT_IDENTITY);

    const servers = await Promise.all(
      opts.servers.map(async (spec, i): Promise<ServerSide> => {
        const identity = spec.identity ?? SERVER_IDENTITY;
        const identityDir = join(dir, `server-${i}-identity`);
        await (spec.foreignCa ? foreignCa! : ca).writeIdentity(identityDir, identity);
        const proxy = await spawnProxy({
          name: `server-${i}`,
          env: {
            WEFT_PROXY_INBOUND_ADDR: '127.0.0.1:0',
            WEFT_PROXY_APP_PORT: String(spec.appPort),
            WEFT_PROXY_IDENTITY_DIR: identityDir,
            ...spec.env,
          },
        });
        started.push(proxy);
        return { proxy, identity, identityDir, inbound: proxy.inbound!, appPort: spec.appPort };
      }),
    );

    const endpoints = servers.map((s, i) => ({
      addr: formatAddr(s.inbound),
      identity: opts.servers[i]!.advertisedIdentity ?? s.identity,
      targetPort: s.appPort,
      labels: opts.servers[i]!.labels ?? { pod: `web-${i}` },
    }));
    const destinationFile = join(dir, 'destinations.yaml');
    const destinations = authorities.map((a) => ({
      authority: a,
      labels: opts.labels ?? { service: 'web', namespace: 'demo' },
      ...opts.profile,
      endpoints,
    }));
    await writeFile(destinationFile, toYaml({ destinations: [...destinations, ...(opts.extraDestinations ?? [])] }));

    const client = await spawnProxy({
      name: 'client',
      env: {
        WEFT_PROXY_IDENTITY_DIR: clientDir,
        WEFT_PROXY_DESTINATION_FILE: destinationFile,
        WEFT_PROXY_UPSTREAMS: `${authority}=127.0.0.1:0`,
        WEFT_PROXY_HTTP_PROXY_ADDR: '127.0.0.1:0',
        ...opts.clientEnv,
      },
    });
    started.push(client);
    const upstream = client.upstreams.get(authority);
    if (!upstream || !client.httpProxy) throw new Error('client proxy did not report its upstream and HTTP proxy listeners');

    return {
      ca,
      foreignCa,
      dir,
      destinationFile,
      authority,
      client,
      servers,
      upstream,
      httpProxy: client.httpProxy,
      url: (path = '/') => `http://${formatAddr(upstream)}${path}`,
      metrics: async (proxy) => {
        const res = await fetch(`http://${formatAddr(proxy.admin)}/metrics`);
        return res.text();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Listens on 127.0.0.1 port 0 and returns the port (servers the tests run as apps). */
export function listenLocal(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Closes a server and every connection it still holds. */
export function closeServer(server: net.Server & { closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** The first proxy log record whose msg is `msg`, or undefined. */
export function findLog(proxy: ProxyProcess, msg: string): Record<string, unknown> | undefined {
  return proxy.logs.find((l) => l['msg'] === msg);
}
