/** Stat rows as the metrics API answers them, for the view-model tests. */
import type { StatRow } from '../../../../mesh/control/metrics-api/aggregate';

export function statRow(over: Partial<StatRow> & Pick<StatRow, 'name'>): StatRow {
  return {
    kind: 'workload',
    namespace: 'demo',
    meshedPods: 1,
    totalPods: 1,
    responses: 100,
    successRate: 1,
    rps: 10,
    p50Ms: 2,
    p95Ms: 8,
    p99Ms: 12,
    tcpConnections: 2,
    readBytesPerSecond: 0,
    writeBytesPerSecond: 0,
    podsWithData: 1,
    ...over,
  };
}
