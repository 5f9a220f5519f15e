import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyResponse, type ResponseOutcome } from '../../../../mesh/proxy/metrics/classify';

const table: [ResponseOutcome, 'success' | 'failure'][] = [
  [{ status: 200 }, 'success'],
  [{ status: 204 }, 'success'],
  [{ status: 302 }, 'success'],
  [{ status: 404 }, 'success'],
  [{ status: 429 }, 'success'],
  [{ status: 499 }, 'success'],
  [{ status: 500 }, 'failure'],
  [{ status: 503 }, 'failure'],
  [{ status: 599 }, 'failure'],
  [{ status: 200, grpcStatus: 0 }, 'success'],
  [{ status: 200, grpcStatus: 2 }, 'failure'],
  [{ status: 200, grpcStatus: 14 }, 'failure'],
  [{ status: 500, grpcStatus: 0 }, 'failure'],
  [{ status: 200, error: true }, 'failure'],
  [{ status: 200, grpcStatus: 0, error: true }, 'failure'],
  [{ status: 200, error: false }, 'success'],
  [{ error: true }, 'failure'],
  [{}, 'failure'],
];

for (const [outcome, want] of table) {
  test(`classifyResponse(${JSON.stringify(outcome)}) = ${want}`, () => {
    assert.equal(classifyResponse(outcome), want);
  });
}
