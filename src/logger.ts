/**
 * Structured JSON logs, one object per line on stderr, so stdout stays free for a command's own output
 * (CLI `--json`, the MCP stdio transport).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` (e.g. `{ component: 'express-worker' }`). */
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = (process.env.SAGALANE_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const threshold = rank[level] ?? rank.info;
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < threshold) return;
    const extra = fields ? serializeErrors(fields) : {};
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...extra }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

function serializeErrors(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}

/** The ids that tie a log line to a saga or a task (never put them in metric labels: logs are where they go). */
export interface CorrelationIds {
  sagaId?: string;
  runId?: string;
  taskId?: string;
  taskType?: string;
}

/** A child logger whose lines carry the given ids; unset ids are left out rather than logged as `undefined`. */
export function withIds(logger: Logger, ids: CorrelationIds): Logger {
  const present = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined));
  return logger.child(present);
}
