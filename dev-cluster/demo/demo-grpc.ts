/**
 * The demo's gRPC contracts: emoji.proto and voting.proto (dev-cluster/demo/proto/), loaded with
 * @grpc/proto-loader, typed clients and server implementations, and small promise wrappers.
 * The .proto files are read at run time: from the source tree (tsx) or, for the bundled CLI
 * (dist/weft.js, dist/chunks/*.js), from the package folder above it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Emoji } from './emojis';

export const PROTO_DIR_ENV = 'WEFT_DEMO_PROTO_DIR';
const PROTO_FILES = ['emoji.proto', 'voting.proto'] as const;
const IN_PACKAGE = join('dev-cluster', 'demo', 'proto');

/**
 * The folder holding the demo's .proto files: $WEFT_DEMO_PROTO_DIR, else the first of
 * `<dir>/proto` or `<dir>/dev-cluster/demo/proto` found walking up from each start folder.
 */
export function findProtoDir(starts: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const has = (dir: string): boolean => PROTO_FILES.every((f) => existsSync(join(dir, f)));
  const given = env[PROTO_DIR_ENV];
  if (given) {
    if (has(given)) return resolve(given);
    throw new Error(`${PROTO_DIR_ENV}=${given} does not hold ${PROTO_FILES.join(' and ')}`);
  }
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      for (const candidate of [join(dir, 'proto'), join(dir, IN_PACKAGE)]) if (has(candidate)) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error(`cannot find the demo's ${PROTO_FILES.join(' and ')} (looked above ${starts.join(', ')} for ${IN_PACKAGE}); set ${PROTO_DIR_ENV} to their folder`);
}

export interface VotingResult {
  shortcode: string;
  votes: number;
}

type Callback<T> = (err: grpc.ServiceError | null, reply?: T) => void;

export interface EmojiClient extends grpc.Client {
  listAll(req: Record<string, never>, opts: grpc.CallOptions, cb: Callback<{ list: Emoji[] }>): grpc.ClientUnaryCall;
  findByShortcode(req: { shortcode: string }, opts: grpc.CallOptions, cb: Callback<{ emoji: Emoji | null }>): grpc.ClientUnaryCall;
}

export interface VotingClient extends grpc.Client {
  vote(req: { shortcode: string }, opts: grpc.CallOptions, cb: Callback<{ version: string; votes: number }>): grpc.ClientUnaryCall;
  results(req: Record<string, never>, opts: grpc.CallOptions, cb: Callback<{ results: VotingResult[]; version: string }>): grpc.ClientUnaryCall;
}

export interface EmojiServiceImpl extends grpc.UntypedServiceImplementation {
  listAll: grpc.handleUnaryCall<Record<string, never>, { list: Emoji[] }>;
  findByShortcode: grpc.handleUnaryCall<{ shortcode: string }, { emoji: Emoji }>;
}

export interface VotingServiceImpl extends grpc.UntypedServiceImplementation {
  vote: grpc.handleUnaryCall<{ shortcode: string }, { version: string; votes: number }>;
  results: grpc.handleUnaryCall<Record<string, never>, { results: VotingResult[]; version: string }>;
}

interface DemoPackage {
  weft: { demo: { emoji: { v1: { EmojiService: grpc.ServiceClientConstructor } }; voting: { v1: { VotingService: grpc.ServiceClientConstructor } } } };
}

export interface DemoServices {
  EmojiService: grpc.ServiceClientConstructor;
  VotingService: grpc.ServiceClientConstructor;
}

let loaded: DemoServices | undefined;

/** Loads both .proto files once per process. */
export function demoServices(): DemoServices {
  if (loaded) return loaded;
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = findProtoDir([here, ...(process.argv[1] ? [dirname(process.argv[1])] : [])]);
  const def = protoLoader.loadSync(
    PROTO_FILES.map((f) => join(dir, f)),
    { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true },
  );
  const pkg = grpc.loadPackageDefinition(def) as unknown as DemoPackage;
  loaded = { EmojiService: pkg.weft.demo.emoji.v1.EmojiService, VotingService: pkg.weft.demo.voting.v1.VotingService };
  return loaded;
}

/** `http://127.0.0.1:4567` (an UPSTREAM_*_URL) → `127.0.0.1:4567`, the target of a plaintext (h2c) gRPC channel. */
export function grpcTarget(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`expected a URL like http://127.0.0.1:4567, got "${url}"`);
  }
  if (u.protocol !== 'http:' || !u.port) throw new Error(`expected an http:// URL with a port (the proxy's plaintext listener), got "${url}"`);
  return u.host;
}

/** Channel options: the service authority (so the mesh's metrics name the service), fast reconnects. */
function channelOptions(authority: string | undefined): grpc.ChannelOptions {
  return { ...(authority ? { 'grpc.default_authority': authority } : {}), 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2_000 };
}

export function emojiClient(url: string, authority?: string): EmojiClient {
  return new (demoServices().EmojiService)(grpcTarget(url), grpc.credentials.createInsecure(), channelOptions(authority)) as unknown as EmojiClient;
}

export function votingClient(url: string, authority?: string): VotingClient {
  return new (demoServices().VotingService)(grpcTarget(url), grpc.credentials.createInsecure(), channelOptions(authority)) as unknown as VotingClient;
}

/** A unary call as a promise, with a deadline. */
export function unary<Req, Res>(
  call: (req: Req, opts: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall,
  req: Req,
  timeoutMs = 5_000,
): Promise<Res> {
  return new Promise((resolvePromise, reject) => {
    call(req, { deadline: Date.now() + timeoutMs }, (err, reply) => (err ? reject(err) : resolvePromise(reply as Res)));
  });
}

/** Binds a gRPC server on 127.0.0.1:port (plaintext: its proxy terminates mTLS in front of it). */
export function bindGrpc(server: grpc.Server, port: number, host = '127.0.0.1'): Promise<number> {
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolvePromise, reject) => {
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (e, bound) => (e ? reject(new Error(`cannot listen on ${addr}: ${e.message}`)) : resolvePromise(bound)));
  });
}

/** Graceful shutdown, forced after `graceMs`. */
export function shutdownGrpc(server: grpc.Server, graceMs = 1_000): Promise<void> {
  return new Promise((resolvePromise) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolvePromise();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolvePromise();
    });
  });
}

export function isGrpcError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number';
}
