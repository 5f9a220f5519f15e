/**
 * The demo's `voting` service (gRPC): Vote(shortcode) and Results. Each process keeps its own
 * tally in memory and names its version in every answer (`v1`; the canary runs as `v2-canary`).
 * A vote for FAILING_SHORTCODE always fails with UNKNOWN, so the success rate stays visibly below
 * 100 %. The decisions live in VoteTally (pure); the server is a thin shell.
 */
import * as grpc from '@grpc/grpc-js';
import { demoServices, type VotingResult, type VotingServiceImpl } from './demo-grpc';
import { FAILING_SHORTCODE } from './emojis';

export type VoteOutcome = { ok: true; votes: number } | { ok: false; code: 'failed' | 'invalid'; message: string };

export class VoteTally {
  private readonly counts = new Map<string, number>();

  vote(shortcode: string): VoteOutcome {
    if (!/^:[a-z0-9_+-]+:$/.test(shortcode)) return { ok: false, code: 'invalid', message: `expected a shortcode like ":rocket:", got "${shortcode}"` };
    if (shortcode === FAILING_SHORTCODE) return { ok: false, code: 'failed', message: `a vote for ${FAILING_SHORTCODE} always fails (the demo's deliberate error)` };
    const votes = (this.counts.get(shortcode) ?? 0) + 1;
    this.counts.set(shortcode, votes);
    return { ok: true, votes };
  }

  /** Most votes first; ties by shortcode. */
  results(): VotingResult[] {
    return [...this.counts]
      .map(([shortcode, votes]) => ({ shortcode, votes }))
      .sort((a, b) => b.votes - a.votes || (a.shortcode < b.shortcode ? -1 : a.shortcode > b.shortcode ? 1 : 0));
  }
}

export function votingImplementation(version: string, tally = new VoteTally()): VotingServiceImpl {
  return {
    vote: (call, cb) => {
      const out = tally.vote(call.request.shortcode);
      if (out.ok) return cb(null, { version, votes: out.votes });
      const md = new grpc.Metadata();
      md.set('weft-demo-version', version);
      cb({ code: out.code === 'invalid' ? grpc.status.INVALID_ARGUMENT : grpc.status.UNKNOWN, details: `${out.message} [voting ${version}]`, metadata: md });
    },
    results: (_call, cb) => cb(null, { results: tally.results(), version }),
  };
}

export function createVotingServer(version: string): grpc.Server {
  const server = new grpc.Server();
  server.addService(demoServices().VotingService.service, votingImplementation(version));
  return server;
}
