/**
 * Structured JSON logs, one object per line on stderr, so stdout stays free for a command's own output
 * (CLI `--json`, the MCP stdio transport).
 *
 * No secret leaves through a log line: a field whose name says it holds one (`token`, `apiKey`, `password`,
 * `authorization`, `SAGALANE_*_KEY`, …) is logged as `[redacted]` at any depth, and every string (the message, field
 * values, errors' messages and stacks) goes through `redactText`. The error messages that reach users and MCP
 * clients (the lane's, the front door's, the LLM provider's) are cleaned with the same functions, which live here
 * because the logger is the bottom layer every other module may import.
 *
 * A line written while an OpenTelemetry span is active carries its `trace_id` and `span_id`, so a log line leads to
 * its trace (src/observability/tracing.ts). Without tracing no span is ever active and nothing is added.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

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
  const safeBase = redactFields(base);
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < threshold) return;
    const extra = fields ? redactFields(fields) : {};
    const span = trace.getSpan(context.active())?.spanContext();
    write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: lvl,
        msg: redactText(msg),
        ...(span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {}),
        ...safeBase,
        ...extra,
      }),
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

// ---- Redaction ----

/** What stands in for a secret inside a string. */
const HIDDEN = '***';
/** What stands in for the value of a secret-named field. */
const REDACTED_FIELD = '[redacted]';

/** `scheme://userinfo@`: the userinfo is everything up to the authority's last `@` (a password may hold one). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/\/?)([^\s/?#'"<>]*)@/gi;
/** A query parameter whose name says it carries a credential (`?password=`, `&api-key=`, `?access_token=`, `?sig=`). */
const SECRET_QUERY =
  /([?&;][^=&#\s'"<>]*?(?:pass|pwd|token|secret|key|sig|auth|credential)[^=&#\s'"<>]*=)[^&#\s'"<>]*[^&#\s'"<>.,;:)]/gi;
/** Credentials whose form gives them away, wherever they stand in a text. */
const KEY_LIKE: [RegExp, string][] = [
  // A token has a digit or a sign in it, or is long: `the Bearer scheme` stays as it is.
  [/\b(Bearer)\s+(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-]|[A-Za-z]{16})[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${HIDDEN}`],
  // Base64 with a capital, digit or sign in it: `Basic authentication failed` stays as it is.
  [/\b([Bb]asic)\s+(?=[A-Za-z0-9+/]*[A-Z0-9+/=])[A-Za-z0-9+/]{8,}=*/g, `$1 ${HIDDEN}`],
  // OpenAI / Anthropic style keys (sk-…, sk-proj-…, sk-ant-…).
  [/\bsk-[A-Za-z0-9_-]{8,}/g, `sk-${HIDDEN}`],
  // JSON Web Tokens.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, HIDDEN],
  // GitHub, GitLab and Slack tokens, AWS access key ids.
  [/\b(?:gh[pousr]_|github_pat_|glpat-|xox[abprs]-)[A-Za-z0-9_-]{10,}/g, HIDDEN],
  [/\bAKIA[0-9A-Z]{16}\b/g, HIDDEN],
  // `api_key=…`, `PASSWORD=…`, `"token": "…"` (not `TOKEN: words`, which is how a ConfigError names a variable).
  [
    /\b([A-Za-z0-9_.-]*(?:api[_-]?key|token|secret|password|passwd)(?:\s*=\s*|["']\s*:\s*["']))[^\s"'&,;}]*[^\s"'&,;}.:)]/gi,
    `$1${HIDDEN}`,
  ],
];

/**
 * An address without its credentials: `redis://user:***@host:6379`, `rediss://***@host` (a password alone, or a
 * token as the user), secret query parameters as `***`. An address with no credentials comes back unchanged.
 */
export function redactUrl(url: string): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  // `user:pass@host:port` with no scheme (a REDIS_CLUSTER_NODES item, a gRPC target written by hand).
  const bare = hasScheme ? url : url.replace(/^[^\s/]*@/, `${HIDDEN}@`);
  return bare.replace(URL_USERINFO, hideUserinfo).replace(SECRET_QUERY, `$1${HIDDEN}`);
}

function hideUserinfo(_match: string, scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  const user = colon > 0 ? userinfo.slice(0, colon) : '';
  return `${scheme}${user ? `${user}:` : ''}${HIDDEN}@`;
}

/**
 * A text with the credentials of every URL in it and every token whose form gives it away (`Bearer …`, `sk-…`,
 * JWTs, `password=…`) replaced by `***`. For messages and log lines; ids, hashes and addresses stay readable.
 */
export function redactText(text: string): string {
  let out = text.replace(URL_USERINFO, hideUserinfo).replace(SECRET_QUERY, `$1${HIDDEN}`);
  for (const [pattern, replacement] of KEY_LIKE) out = out.replace(pattern, replacement);
  return out;
}

/**
 * At most `maxChars` of a text sagalane did not write (a provider's reply), with `redactText` applied and, beyond
 * it, every long run of letters and digits that could be a key (hex or base64, 24 characters or more with both
 * letters and digits) replaced by `***`. Redacted before it is cut, so a cut never leaves a key unrecognisable.
 */
export function redactedExcerpt(text: string, maxChars = 200): string {
  const clean = redactText(text).replace(/[A-Za-z0-9+/_=-]{24,}/g, (run) =>
    /[0-9]/.test(run) && /[A-Za-z]/.test(run) ? HIDDEN : run,
  );
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}

/** Whether a field's name says its value is a secret (compared lower-cased, without `_`, `-` and the like). */
export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (
    /(?:password|passwd|secret|token|apikey|authorization|cookie|credentials?|privatekey|signingkey|accesskey|artifactkey)$/.test(
      n,
    ) ||
    n === 'auth' ||
    (n.startsWith('sagalane') && n.endsWith('key'))
  );
}

const MAX_DEPTH = 8;

/**
 * A copy of log fields with secret-named values replaced, strings and URLs redacted and errors as plain objects
 * (name, message, stack), in plain objects and arrays at any depth; instances of other classes are kept as they are.
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields, 0) as Record<string, unknown>;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactText(value.message),
      stack: value.stack && redactText(value.stack),
    };
  }
  if (value instanceof URL) return redactUrl(value.href);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      isSecretField(k) && v !== undefined && v !== null && v !== ''
        ? REDACTED_FIELD
        : redactValue(v, depth + 1);
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
