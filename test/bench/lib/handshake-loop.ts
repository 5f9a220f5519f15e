/**
 * Full mTLS handshakes against a Weft proxy's inbound, in a loop, from its own process (forkScript):
 * `concurrency` loops each connect with connectMtls (no session resumption: every handshake is full,
 * both certificates verified), then close. Answers { type: 'result', handshakes, errors, seconds }.
 */
import { connectMtls } from '../../../mesh/proxy/tls/mtls';
import { IdentityCerts } from '../../../mesh/proxy/tls/identity-certs';
import { ALPN_MESH_H2 } from '../../../mesh/proxy/transport/transport-header';
import type { IdentityFilePaths } from '../../../mesh/proxy/tls/identity-certs';

export interface HandshakeLoopConfig {
  host: string;
  port: number;
  expectedIdentity: string;
  identity: IdentityFilePaths;
  seconds: number;
  concurrency: number;
}

export interface HandshakeLoopResult {
  handshakes: number;
  errors: number;
  firstError?: string;
  seconds: number;
}

export async function runHandshakeLoop(cfg: HandshakeLoopConfig): Promise<HandshakeLoopResult> {
  const certs = await IdentityCerts.load(cfg.identity);
  let handshakes = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const end = t0 + cfg.seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      try {
        const s = await connectMtls({
          host: cfg.host,
          port: cfg.port,
          expectedIdentity: cfg.expectedIdentity,
          alpn: [ALPN_MESH_H2],
          certs,
          timeoutMs: 10_000,
        });
        handshakes++;
        s.destroy();
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, loop));
  certs.close();
  return { handshakes, errors, firstError, seconds: (performance.now() - t0) / 1000 };
}

if (process.send && process.argv[2]) {
  runHandshakeLoop(JSON.parse(process.argv[2]) as HandshakeLoopConfig).then(
    (result) => process.send!({ type: 'result', result }, () => process.exit(0)),
    (err: Error) => process.send!({ type: 'error', message: err.message }, () => process.exit(1)),
  );
}
