/** Linkerd's response classification, as a pure function. */

export type Classification = 'success' | 'failure';

export interface ResponseOutcome {
  /** HTTP status of the response; undefined when no response head arrived. */
  status?: number;
  /** `grpc-status` from the trailers (or a trailers-only response's headers). */
  grpcStatus?: number;
  /** The stream failed (reset, connection lost, timeout) before it ended cleanly. */
  error?: boolean;
}

/**
 * Failure when the stream errored, when a gRPC status other than 0 was carried, when the HTTP
 * status is >= 500, or when no response head was ever received; success otherwise.
 */
export function classifyResponse(o: ResponseOutcome): Classification {
  if (o.error) return 'failure';
  if (o.grpcStatus !== undefined && o.grpcStatus !== 0) return 'failure';
  if (o.status === undefined || o.status >= 500) return 'failure';
  return 'success';
}
