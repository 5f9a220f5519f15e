/** One line per event, plain or JSON, to stderr. The proxy never logs per request at info level. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(opts: { level: LogLevel; format: 'plain' | 'json'; write?: (line: string) => void }): Logger {
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const max = RANK[opts.level];
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] > max) return;
    const ts = new Date().toISOString();
    if (opts.format === 'json') {
      write(`${JSON.stringify({ ts, level, msg, ...fields })}\n`);
    } else {
      const extra = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('') : '';
      write(`${ts} ${level.toUpperCase().padEnd(5)} ${msg}${extra}\n`);
    }
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    enabled: (l) => RANK[l] <= max,
  };
}

export const silentLogger: Logger = createLogger({ level: 'error', format: 'plain', write: () => undefined });

/**
 * Logs an event at most once per `key` per interval, with the count of the ones suppressed since:
 * for failures that can repeat per request (an app that is down) without flooding the log.
 */
export function throttledLog(log: Logger, intervalMs = 10_000, now: () => number = Date.now): (level: LogLevel, key: string, msg: string, fields?: Record<string, unknown>) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (level, key, msg, fields) => {
    const t = now();
    const seen = last.get(key);
    if (seen && t - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    if (last.size > 1_000) last.clear();
    last.set(key, { at: t, suppressed: 0 });
    log[level](msg, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
  };
}
