/**
 * When a success rate is healthy, degraded or failing: one definition for every place that colours
 * a number (the explorer's rows, the metrics table, the service panel, CodeLens). Failing is below
 * the usual 99 % objective (more than 1 request in 100 fails); degraded below 99.9 %.
 */
export type SuccessHealth = 'ok' | 'degraded' | 'failing';

export const FAILING_BELOW = 0.99;
export const DEGRADED_BELOW = 0.999;

export function successHealth(successRate: number): SuccessHealth {
  if (successRate < FAILING_BELOW) return 'failing';
  if (successRate < DEGRADED_BELOW) return 'degraded';
  return 'ok';
}
