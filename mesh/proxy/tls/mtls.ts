// Mutual TLS between Weft proxies: TLS 1.3 only, both sides present a leaf from the mesh CA, the client
// checks the server's identity exactly, the server reads the client's verified identity.
import * as tls from 'node:tls';
import type { IdentityCerts } from './identity-certs';
import { secureContextOptions } from './identity-certs';
import { dnsNamesOf, weftIdentityOf } from './identity-material';

/**
 * Options for tls.createServer or `new tls.TLSSocket(socket, { isServer: true, ...options })`:
 * TLS 1.3 only, a client certificate is requested (its absence is allowed: see verifiedPeerIdentity),
 * ALPN list given. Evaluated now: a bare TLSSocket built with fresh options always gets the current identity.
 * For a long-lived tls.Server, also call attachRotation.
 */
export function serverTlsOptions(certs: IdentityCerts, alpn: string[]): tls.TlsOptions {
  return {
    ...secureContextOptions(certs.material()),
    // Used by bare TLSSockets; tls.Server builds its own from the fields above.
    secureContext: certs.secureContext(),
    // Mesh clients always send SNI: hand them the CURRENT shared context, so a server picks up a rotation
    // even before attachRotation has run, without building a context per connection.
    SNICallback: (_servername, cb) => cb(null, certs.secureContext()),
    requestCert: true,
    // Node's verification result is checked by verifiedPeerIdentity, which destroys unverified peers;
    // rejecting at this level would also refuse clients that send no certificate at all.
    rejectUnauthorized: false,
    ALPNProtocols: alpn,
  };
}

/**
 * Keeps a tls.Server's default context in step with rotations. setSecureContext resets every option left out,
 * so the full set is passed (and the server's session ticket keys are kept). Returns a detach function.
 */
export function attachRotation(server: tls.Server, certs: IdentityCerts, alpn: string[]): () => void {
  void alpn; // ALPN is a per-server option, not part of the context; kept in the signature for symmetry.
  const onRotated = (): void => {
    server.setSecureContext({ ...secureContextOptions(certs.material()), ticketKeys: server.getTicketKeys() });
  };
  certs.on('rotated', onRotated);
  return () => certs.off('rotated', onRotated);
}

export type PeerIdentityResult =
  | { kind: 'verified'; identity: string }
  | { kind: 'no-certificate' }
  | { kind: 'rejected'; reason: string };

/**
 * OpenSSL's verdict on the peer's chain against the context's CA (undefined = verified). tls.Server records it
 * in socket.authorized/authorizationError, but a bare `new tls.TLSSocket(…, { isServer: true })` does not, so
 * ask the TLS handle as tls.Server itself does. Fails closed if the handle cannot answer.
 */
function chainVerificationError(socket: tls.TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  if (socket.authorizationError) return String(socket.authorizationError);
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'verification result unavailable';
  const err = handle.verifyError();
  return err ? (err.code ?? err.message) : undefined;
}

/** Server side, after the handshake: what the client proved. Does not touch the socket. */
export function peerIdentityResult(socket: tls.TLSSocket): PeerIdentityResult {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return { kind: 'no-certificate' };
  const verifyError = chainVerificationError(socket);
  if (verifyError !== undefined) {
    return { kind: 'rejected', reason: `client certificate does not chain to our trust anchors (${verifyError})` };
  }
  const identity = weftIdentityOf(cert);
  if (!identity) {
    return { kind: 'rejected', reason: `client certificate carries no Weft identity (SAN: ${cert.subjectAltName ?? 'none'})` };
  }
  return { kind: 'verified', identity };
}

/**
 * Server side, after the handshake: the client's verified identity, or undefined if it sent no certificate.
 * A certificate that does not verify destroys the connection (and undefined is returned; socket.destroyed is set).
 */
export function verifiedPeerIdentity(socket: tls.TLSSocket): string | undefined {
  const r = peerIdentityResult(socket);
  if (r.kind === 'verified') return r.identity;
  if (r.kind === 'rejected') socket.destroy(new MtlsError('ERR_WEFT_PEER_REJECTED', r.reason));
  return undefined;
}

export class MtlsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MtlsError';
  }
}

/** The server identity a client confirmed at connect (client side reads the peer certificate only once). */
const confirmedIdentities = new WeakMap<tls.TLSSocket, string>();
export function confirmedServerIdentity(socket: tls.TLSSocket): string | undefined {
  return confirmedIdentities.get(socket);
}

/** Node's verification codes that mean "this certificate is not from our mesh". */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

function describeConnectError(err: NodeJS.ErrnoException, where: string, expected: string): Error {
  if (err instanceof MtlsError) return err;
  const code = err.code ?? '';
  if (UNTRUSTED_CODES.has(code)) {
    return new MtlsError(
      'ERR_WEFT_UNKNOWN_CA',
      `mTLS to ${where}: server certificate is from an unknown CA, it does not chain to our trust anchors (${code}); expected ${expected}`,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new MtlsError('ERR_WEFT_CERT_TIME', `mTLS to ${where}: server certificate is outside its validity period (${code})`);
  }
  const e = new MtlsError(code || 'ERR_WEFT_MTLS', `mTLS to ${where} (expected ${expected}) failed: ${err.message}`);
  e.cause = err;
  return e;
}

/**
 * Client side: connects with our current identity, requires the server to present EXACTLY expectedIdentity and
 * to chain to our trust anchors. SNI = expectedIdentity. Rejects with an MtlsError that says what was wrong.
 */
export function connectMtls(opts: {
  host: string;
  port: number;
  expectedIdentity: string;
  alpn: string[];
  certs: IdentityCerts;
  signal?: AbortSignal;
  timeoutMs?: number;
}): Promise<tls.TLSSocket> {
  const where = `${opts.host}:${opts.port}`;
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new MtlsError('ABORT_ERR', `mTLS to ${where}: aborted before connecting`));
      return;
    }
    let seen: string | undefined;
    const socket = tls.connect({
      host: opts.host,
      port: opts.port,
      servername: opts.expectedIdentity,
      ALPNProtocols: opts.alpn,
      secureContext: opts.certs.secureContext(), // the current one, at each new connect
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      // Called by Node only when the chain verified. No `session` is passed, so a resumed session (which would
      // skip this check) cannot happen here.
      checkServerIdentity: (_host, cert) => {
        const names = dnsNamesOf(cert.subjectaltname);
        if (names.includes(opts.expectedIdentity)) {
          seen = opts.expectedIdentity;
          return undefined;
        }
        return new MtlsError(
          'ERR_WEFT_WRONG_IDENTITY',
          `mTLS to ${where}: wrong server identity: expected ${opts.expectedIdentity}, got ${names.join(', ') || 'no DNS name'}`,
        );
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('secureConnect', onSecure);
      socket.off('close', onClose);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(describeConnectError(err, where, opts.expectedIdentity));
    const onClose = (): void =>
      fail(new MtlsError('ECONNRESET', `mTLS to ${where}: connection closed during the handshake`));
    const onAbort = (): void => fail(new MtlsError('ABORT_ERR', `mTLS to ${where}: aborted`));
    const onSecure = (): void => {
      cleanup();
      if (seen !== opts.expectedIdentity) {
        // Defensive: Node always runs checkServerIdentity on a fresh handshake; never accept without it.
        socket.destroy();
        reject(new MtlsError('ERR_WEFT_WRONG_IDENTITY', `mTLS to ${where}: server identity was not checked`));
        return;
      }
      confirmedIdentities.set(socket, seen);
      resolve(socket);
    };
    socket.on('error', onError);
    socket.once('secureConnect', onSecure);
    socket.once('close', onClose);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(
        () => fail(new MtlsError('ETIMEDOUT', `mTLS to ${where}: handshake not done after ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
    }
  });
}
