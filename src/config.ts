/**
 * The one place sagalane reads its configuration from the environment.
 *
 * Every variable is listed in `envSchema` with its default; `loadConfig` turns the raw environment into a typed
 * `Config` and throws a `ConfigError` naming each bad variable, so a process stops before it half-starts. A
 * ConfigError never prints a variable's value: several are secrets (a REDIS_URL password, tokens, keys).
 */
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

/** The longest delay a Node timer honours: `setTimeout` fires a longer one after about 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** A duration in ms that a timer will wait (`min`..MAX_TIMER_MS). */
const timerMs = (min: number) =>
  z.coerce
    .number()
    .int()
    .min(min)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest a timer can wait`);

/**
 * Shortest SAGALANE_MCP_TOKEN (and SAGALANE_MCP_TOKENS item) accepted: a bearer token is the only thing between the
 * network and every tool.
 */
export const MIN_MCP_TOKEN_LENGTH = 16;

/**
 * The longest a research pipeline's artifacts must stay readable, in seconds: its approval wait (at most 7 days,
 * `approvalTimeoutMs` in workflows/research/pipeline-contract.ts) does not count against its saga timeout (at most 24 h,
 * `timeoutMs`), so codegen's code can be read by backtest up to 8 days after it was written. SAGALANE_ARTIFACT_TTL_S
 * below this would let a late approval find its artifacts gone and roll the saga back. (config.ts may not import the
 * workflows; test/config-edges.test.ts checks the two limits still add up to this.)
 */
export const LONGEST_SAGA_SPAN_S = 7 * 86_400 + 86_400;

const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Shortest SAGALANE_MCP_REQUEST_STATE_KEY, decoded: what the SDK's HMAC codec (SHA-256) demands. */
export const MIN_REQUEST_STATE_KEY_BYTES = 32;

/**
 * A key written as hex (an even number of hex digits) or base64 (standard or URL-safe, padding optional), decoded;
 * undefined when it is neither. Hex is tried first: `openssl rand -hex 32` is all hex digits.
 */
export function decodeKey(text: string): Buffer | undefined {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && text.replace(/=+$/, '').length % 4 !== 1)
    return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  return undefined;
}

/** `host:port`, the form of one `REDIS_CLUSTER_NODES` item. */
const HOST_PORT = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/;

export function parseHostPort(item: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(item.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The cluster address for `nodes` (`host:port` each), taking credentials and TLS (`rediss://`) from `redisUrl`:
 * every node of a cluster shares them.
 */
export function clusterUrl(nodes: string[], redisUrl = 'redis://127.0.0.1:6379'): string {
  const base = new URL(redisUrl.replace(/^(rediss?)\+cluster:\/\/(?:([^@]*)@)?.*$/, '$1://$2@cluster'));
  const auth = base.username || base.password ? `${base.username}:${base.password}@` : '';
  const scheme = base.protocol === 'rediss:' ? 'rediss' : 'redis';
  return `${scheme}+cluster://${auth}${nodes.map((n) => n.trim()).join(',')}`;
}

/** The `host:port` nodes of a `redis+cluster://[user:pass@]h:p,h:p` address, or undefined if it is not one. */
function clusterNodesOf(url: string): string[] | undefined {
  const m = /^rediss?\+cluster:\/\/(?:[^@]*@)?([^/]+)\/?$/.exec(url);
  if (!m) return undefined;
  const nodes = m[1]!.split(',');
  return nodes.every((n) => parseHostPort(n)) ? nodes : undefined;
}

/** Environment variables, their defaults and their validation. The README's config table mirrors this. */
export const envSchema = z.object({
  /** Temporal frontend `host:port`. Unset: `sagalane dev` starts a local dev server. */
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  SAGALANE_TASK_QUEUE: z.string().min(1).default('sagalane-sagas'),
  /** Use TLS to reach Temporal (implied by an API key or client certificate). */
  TEMPORAL_TLS: boolFlag.default(false),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_TLS_CA_PATH: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** Temporal Cloud API key. */
  TEMPORAL_API_KEY: optionalString,
  /** Path of a Temporal CLI binary to use for the local dev server. */
  SAGALANE_TEMPORAL_CLI: optionalString,
  SAGALANE_TEMPORAL_PORT: port.default(7233),
  SAGALANE_TEMPORAL_UI_PORT: port.default(8233),
  /** Where the local stack keeps its state (Temporal SQLite file, Redis data). */
  SAGALANE_DATA_DIR: z.string().min(1).default('.sagalane'),

  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\//.test(v) || clusterNodesOf(v) !== undefined, {
      message: 'must start with redis:// or rediss://, or be redis+cluster://host:port,host:port,…',
    }),
  /**
   * Redis Cluster nodes `host:port,host:port,…` (any subset; the rest are discovered). Set: every Redis connection
   * sagalane opens is an ioredis Cluster (credentials and TLS from REDIS_URL's user, password and rediss://).
   * Unset: one Redis at REDIS_URL.
   */
  REDIS_CLUSTER_NODES: optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    // Positions, not the items: a mistyped `user:password@host:port` must not be printed.
    const bad = v
      .split(',')
      .map((item, i) => (parseHostPort(item) ? 0 : i + 1))
      .filter(Boolean);
    if (bad.length)
      ctx.addIssue({
        code: 'custom',
        message: `must be host:port items separated by commas (item ${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not host:port; credentials go in REDIS_URL)`,
      });
  }),
  /** Prefix of every Redis key sagalane writes (streams, results, artifacts, caches). */
  SAGALANE_KEY_PREFIX: z
    .string()
    .min(1)
    .default('sagalane')
    .refine((v) => !/[{}\s]/.test(v), 'must not contain braces or spaces'),

  SAGALANE_MCP_HOST: z.string().min(1).default('127.0.0.1'),
  SAGALANE_MCP_PORT: port.default(7300),
  /** Bearer token for the MCP HTTP endpoint; required when it binds to anything but loopback. */
  SAGALANE_MCP_TOKEN: optionalString.refine((v) => v === undefined || v.length >= MIN_MCP_TOKEN_LENGTH, {
    message: `must be at least ${MIN_MCP_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`,
  }),
  /** Extra Host header values accepted by the MCP HTTP endpoint (comma-separated). */
  SAGALANE_MCP_ALLOWED_HOSTS: csv,
  /** Extra Origin header values accepted by the MCP HTTP endpoint (comma-separated). */
  SAGALANE_MCP_ALLOWED_ORIGINS: csv,
  /**
   * More bearer tokens for the MCP HTTP endpoint (comma-separated), e.g. one per client or team: each is its own
   * holder for the per-token caps below. Either this or SAGALANE_MCP_TOKEN satisfies "a token when exposed".
   */
  SAGALANE_MCP_TOKENS: csv.superRefine((tokens, ctx) => {
    // Positions, not the tokens: a ConfigError never prints a secret.
    const short = tokens.map((t, i) => (t.length < MIN_MCP_TOKEN_LENGTH ? i + 1 : 0)).filter(Boolean);
    if (short.length)
      ctx.addIssue({
        code: 'custom',
        message:
          `each token must be at least ${MIN_MCP_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32); ` +
          `token ${short.join(', ')} ${short.length > 1 ? 'are' : 'is'} shorter`,
      });
  }),
  /** Most MCP HTTP sessions open at once; an initialize over it gets a JSON-RPC error (HTTP 503). */
  SAGALANE_MCP_MAX_SESSIONS: z.coerce.number().int().min(1).max(100_000).default(100),
  /**
   * Most MCP HTTP sessions opened with one bearer token (with no token configured: by all clients together); an
   * initialize over it gets HTTP 503. Unset: SAGALANE_MCP_MAX_SESSIONS shared evenly by the tokens (rounded up).
   */
  SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN: z.coerce.number().int().min(1).max(100_000).optional(),
  /**
   * An MCP HTTP session with no request for this long (none arriving, none still being answered) is closed: an open
   * GET stream does not keep it, as it only listens (such a client sends `ping` now and then); its next request gets
   * 404 and it initializes again.
   */
  SAGALANE_MCP_SESSION_IDLE_MS: timerMs(1000).default(1_800_000),
  /**
   * Longest one MCP `tasks/result` waits for its task (stdio and HTTP); past it the request answers JSON-RPC -32001
   * "still working, call tasks/result again" and the task runs on.
   */
  SAGALANE_MCP_TASK_RESULT_WAIT_MS: timerMs(1000).default(300_000),
  /** Most `resources/subscribe` subscriptions one MCP session holds at once (stdio and HTTP). */
  SAGALANE_MCP_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Most resource subscriptions the MCP HTTP sessions of one bearer token hold together. */
  SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /**
   * HMAC key (32 bytes or more, hex or base64, e.g. `openssl rand -hex 32`) sealing the `requestState` of a
   * 2026-07-28 approval round, so the retried call that answers it may reach any MCP process: set the same in every
   * one. Unset: each process makes its own, and a retry reaching another process is refused as tampered.
   */
  SAGALANE_MCP_REQUEST_STATE_KEY: optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    const key = decodeKey(v);
    if (key === undefined)
      ctx.addIssue({ code: 'custom', message: 'must be hex or base64 (e.g. openssl rand -hex 32)' });
    else if (key.length < MIN_REQUEST_STATE_KEY_BYTES)
      ctx.addIssue({
        code: 'custom',
        message: `must decode to at least ${MIN_REQUEST_STATE_KEY_BYTES} bytes (got ${key.length}; e.g. openssl rand -hex 32)`,
      });
  }),

  SAGALANE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of `/metrics`, `/healthz`, `/readyz`; 0 picks a free port. */
  SAGALANE_METRICS_PORT: port.default(9464),
  /**
   * The lane board (docs/EXPRESS-LANE.md "Board"): `on` serves it at `/board` on the metrics port (or on
   * SAGALANE_BOARD_PORT). Its auth is the MCP endpoint's: SAGALANE_MCP_TOKEN(S), SAGALANE_MCP_ALLOWED_HOSTS/ORIGINS.
   */
  SAGALANE_BOARD: z.enum(['on', 'off']).default('on'),
  /** A port of its own for the board (bound on SAGALANE_METRICS_HOST); unset = the metrics port. */
  SAGALANE_BOARD_PORT: port.optional(),
  /** The board shows everything but refuses replays, purges, approvals and rejections. */
  SAGALANE_BOARD_READ_ONLY: boolFlag.default(false),
  /** Base URL of the Temporal Web UI the board links sagas to. @defaultValue http://127.0.0.1:<SAGALANE_TEMPORAL_UI_PORT> */
  SAGALANE_TEMPORAL_UI_URL: optionalString.refine(
    (v) => v === undefined || /^https?:\/\//.test(v),
    'must be an http(s) URL',
  ),

  /** Port of the Temporal SDK's own worker metrics (saga worker processes); `off` disables them. */
  SAGALANE_TEMPORAL_METRICS_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(1).max(65535)])
    .default(9465),

  SAGALANE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

  /** OpenAI-compatible chat-completions endpoint for the reasoning agent; unset = built-in planner. */
  SAGALANE_LLM_BASE_URL: optionalString
    .refine((v) => v === undefined || /^https?:\/\//.test(v), 'must be an http(s) URL')
    .refine(
      (v) => v === undefined || !/^https?:\/\/[^/?#]*@/.test(v),
      'must not carry a user or password (fetch refuses them): put the key in SAGALANE_LLM_API_KEY',
    ),
  SAGALANE_LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
  SAGALANE_LLM_API_KEY: optionalString,
  SAGALANE_LLM_TIMEOUT_MS: timerMs(1).default(20_000),
  /** How long a reasoning plan stays cached in Redis. */
  SAGALANE_PLAN_CACHE_TTL_S: z.coerce.number().int().positive().default(86_400),
  /** How the saga worker runs researchPipeline's steps: as lane tasks (lane workers run the agents) or inline. */
  SAGALANE_STEP_DISPATCH: z.enum(['lane', 'inline']).default('lane'),
  /**
   * Which pipeline steps a lane-dispatching saga worker runs as awaited steps (local activities waiting for their lane
   * task in Redis: one workflow task per saga less, but a cancel, query or update waits for the step's workflow task,
   * up to ~8 s): `none`, `codegen`, or `all` (codegen and the compensations). Lane workers must be upgraded first
   * (docs/SAGAS.md, "Awaited steps").
   */
  SAGALANE_AWAITED_STEPS: z.enum(['none', 'codegen', 'all']).default('none'),
  /**
   * Seconds an agent artifact (generated code, fitted parameters, backtest report) is kept: at least
   * LONGEST_SAGA_SPAN_S (8 days), so a saga approved at the last moment still finds them.
   */
  SAGALANE_ARTIFACT_TTL_S: z.coerce
    .number()
    .int()
    .min(
      LONGEST_SAGA_SPAN_S,
      `must be at least ${LONGEST_SAGA_SPAN_S} (8 days): a saga's artifacts must outlive its longest approval wait ` +
        '(7 days) plus its longest run (24 h), or a late approval finds them gone and the saga rolls back',
    )
    .default(LONGEST_SAGA_SPAN_S),
  /**
   * Secret artifacts are signed with (src/activities/research/artifact-store.ts), the same in every process of a deployment,
   * never stored in Redis. Unset: each process signs with its own random key and checks another's artifacts by
   * regenerating their code from the plan.
   */
  SAGALANE_ARTIFACT_KEY: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'must be at least 32 characters (e.g. openssl rand -hex 32)',
  }),

  /**
   * How long a worker process lets running work finish after SIGTERM/SIGINT: the saga worker's `shutdownGraceTime`
   * (running activities may complete; then they are cancelled and Temporal retries them elsewhere) and the express
   * worker's drain (unfinished tasks are then handed back to the stream).
   */
  SAGALANE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /**
   * Aging on express workers: a standard task waiting this long starts ahead of newer express work (in a standard
   * slot), so a long express flood cannot starve standard work. A task type's own `defaults.maxWaitMs` wins. 0: off.
   */
  SAGALANE_MAX_WAIT_MS: z.coerce.number().int().min(0).max(86_400_000).default(0),
  /** Temporal priorityKey (1 first .. 5 last) express sagas start at: their workflow tasks and in-worker steps. */
  SAGALANE_PRIORITY_KEY_EXPRESS: z.coerce.number().int().min(1).max(5).default(1),
  /** Temporal priorityKey standard sagas start at; unset: none sent (the server's default, 3). */
  SAGALANE_PRIORITY_KEY_STANDARD: z.coerce.number().int().min(1).max(5).optional(),
  /** A prebuilt workflow bundle (`npm run bundle:workflows -- <path>`) the saga worker loads instead of bundling. */
  SAGALANE_WORKFLOW_BUNDLE: optionalString,
  /**
   * A module of your sagas (`./dist/sagas.js`): it exports `catalog` (a SagaCatalog) and, for lane workers,
   * `stepHandlers`; `sagalane dev`, `sagalane worker`, the CLI and the MCP bridge then serve its sagas.
   */
  SAGALANE_SAGAS: optionalString,
});

export type Env = z.infer<typeof envSchema>;

export interface TemporalSettings {
  /** `undefined` means "no remote server: start or use the local dev server". */
  address: string | undefined;
  namespace: string;
  taskQueue: string;
  tls: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  apiKey?: string;
  cliPath?: string;
  devPort: number;
  devUiPort: number;
}

export interface Config {
  temporal: TemporalSettings;
  /**
   * The Redis address every connection opens: REDIS_URL, or `redis+cluster://host:port,…` when
   * REDIS_CLUSTER_NODES is set (see lane/redis-connections.ts).
   */
  redisUrl: string;
  /** REDIS_CLUSTER_NODES as a list; empty for a single Redis. */
  redisClusterNodes: string[];
  keyPrefix: string;
  dataDir: string;
  mcp: {
    host: string;
    port: number;
    token?: string;
    allowedHosts: string[];
    allowedOrigins: string[];
    maxSessions: number;
    sessionIdleMs: number;
    /** SAGALANE_MCP_TOKENS: more accepted bearer tokens (besides `token`). */
    tokens: string[];
    /** Unset: `maxSessions` shared evenly by the tokens. */
    maxSessionsPerToken?: number;
    maxSubscriptionsPerToken: number;
    /** Per session. */
    maxSubscriptions: number;
    taskResultWaitMs: number;
    /** SAGALANE_MCP_REQUEST_STATE_KEY, decoded; undefined: a key per process. */
    requestStateKey?: Buffer;
  };
  metrics: { host: string; port: number; temporalSdkPort: number | 'off' };
  board: { enabled: boolean; port?: number; readOnly: boolean; temporalUiUrl: string };
  logLevel: Env['SAGALANE_LOG_LEVEL'];
  llm: { baseUrl?: string; model: string; apiKey?: string; timeoutMs: number };
  planCacheTtlS: number;
  /** `lane`: saga steps run on lane workers (async activity completion); `inline`: in the saga worker. */
  stepDispatch: Env['SAGALANE_STEP_DISPATCH'];
  /** With `stepDispatch` `lane`: which steps run as awaited steps (see SAGALANE_AWAITED_STEPS). */
  awaitedSteps: Env['SAGALANE_AWAITED_STEPS'];
  artifactTtlS: number;
  /** SAGALANE_ARTIFACT_KEY: the artifacts' signing secret; undefined: a per-process key. */
  artifactKey?: string;
  shutdownGraceMs: number;
  /** SAGALANE_MAX_WAIT_MS: express workers' aging bound for standard tasks; 0 is off. */
  maxWaitMs: number;
  /** SAGALANE_PRIORITY_KEY_EXPRESS / _STANDARD: the Temporal priority keys sagas start at, by priority. */
  priorityKeys: { express: number; standard?: number };
  workflowBundlePath?: string;
  /** SAGALANE_SAGAS, resolved: the module of the user's saga catalog; undefined: the built-in catalog. */
  sagasModule?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      'Invalid sagalane configuration:\n' +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n') +
        '\nFix these environment variables (see the README config table) and start again.',
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '(environment)');
        // The message only: the value may be a secret (a REDIS_URL password, a token or key that is too short).
        return { variable, message: issue.message };
      }),
    );
  }
  const e = parsed.data;
  if (
    e.SAGALANE_MCP_TOKEN === undefined &&
    e.SAGALANE_MCP_TOKENS.length === 0 &&
    !isLoopback(e.SAGALANE_MCP_HOST)
  ) {
    throw new ConfigError([
      {
        variable: 'SAGALANE_MCP_TOKEN',
        message: `must be set (or SAGALANE_MCP_TOKENS) when SAGALANE_MCP_HOST (${e.SAGALANE_MCP_HOST}) is not a loopback address`,
      },
    ]);
  }
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.SAGALANE_TASK_QUEUE,
      tls: e.TEMPORAL_TLS || e.TEMPORAL_API_KEY !== undefined || e.TEMPORAL_TLS_CERT_PATH !== undefined,
      tlsCertPath: e.TEMPORAL_TLS_CERT_PATH,
      tlsKeyPath: e.TEMPORAL_TLS_KEY_PATH,
      tlsCaPath: e.TEMPORAL_TLS_CA_PATH,
      tlsServerName: e.TEMPORAL_TLS_SERVER_NAME,
      apiKey: e.TEMPORAL_API_KEY,
      cliPath: e.SAGALANE_TEMPORAL_CLI,
      devPort: e.SAGALANE_TEMPORAL_PORT,
      devUiPort: e.SAGALANE_TEMPORAL_UI_PORT,
    },
    redisUrl: e.REDIS_CLUSTER_NODES ? clusterUrl(e.REDIS_CLUSTER_NODES.split(','), e.REDIS_URL) : e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES
      ? e.REDIS_CLUSTER_NODES.split(',').map((n) => n.trim())
      : (clusterNodesOf(e.REDIS_URL) ?? []),
    keyPrefix: e.SAGALANE_KEY_PREFIX,
    dataDir: path.resolve(e.SAGALANE_DATA_DIR),
    mcp: {
      host: e.SAGALANE_MCP_HOST,
      port: e.SAGALANE_MCP_PORT,
      token: e.SAGALANE_MCP_TOKEN,
      allowedHosts: e.SAGALANE_MCP_ALLOWED_HOSTS,
      allowedOrigins: e.SAGALANE_MCP_ALLOWED_ORIGINS,
      maxSessions: e.SAGALANE_MCP_MAX_SESSIONS,
      sessionIdleMs: e.SAGALANE_MCP_SESSION_IDLE_MS,
      tokens: e.SAGALANE_MCP_TOKENS,
      maxSessionsPerToken: e.SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN,
      maxSubscriptionsPerToken: e.SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN,
      maxSubscriptions: e.SAGALANE_MCP_MAX_SUBSCRIPTIONS,
      taskResultWaitMs: e.SAGALANE_MCP_TASK_RESULT_WAIT_MS,
      ...(e.SAGALANE_MCP_REQUEST_STATE_KEY !== undefined
        ? { requestStateKey: decodeKey(e.SAGALANE_MCP_REQUEST_STATE_KEY) }
        : {}),
    },
    metrics: {
      host: e.SAGALANE_METRICS_HOST,
      port: e.SAGALANE_METRICS_PORT,
      temporalSdkPort: e.SAGALANE_TEMPORAL_METRICS_PORT,
    },
    board: {
      enabled: e.SAGALANE_BOARD === 'on',
      port: e.SAGALANE_BOARD_PORT,
      readOnly: e.SAGALANE_BOARD_READ_ONLY,
      temporalUiUrl: (
        e.SAGALANE_TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.SAGALANE_TEMPORAL_UI_PORT}`
      ).replace(/\/$/, ''),
    },
    logLevel: e.SAGALANE_LOG_LEVEL,
    llm: {
      baseUrl: e.SAGALANE_LLM_BASE_URL,
      model: e.SAGALANE_LLM_MODEL,
      apiKey: e.SAGALANE_LLM_API_KEY,
      timeoutMs: e.SAGALANE_LLM_TIMEOUT_MS,
    },
    planCacheTtlS: e.SAGALANE_PLAN_CACHE_TTL_S,
    stepDispatch: e.SAGALANE_STEP_DISPATCH,
    awaitedSteps: e.SAGALANE_AWAITED_STEPS,
    artifactTtlS: e.SAGALANE_ARTIFACT_TTL_S,
    artifactKey: e.SAGALANE_ARTIFACT_KEY,
    shutdownGraceMs: e.SAGALANE_SHUTDOWN_GRACE_MS,
    maxWaitMs: e.SAGALANE_MAX_WAIT_MS,
    priorityKeys: {
      express: e.SAGALANE_PRIORITY_KEY_EXPRESS,
      ...(e.SAGALANE_PRIORITY_KEY_STANDARD !== undefined
        ? { standard: e.SAGALANE_PRIORITY_KEY_STANDARD }
        : {}),
    },
    workflowBundlePath: e.SAGALANE_WORKFLOW_BUNDLE ? path.resolve(e.SAGALANE_WORKFLOW_BUNDLE) : undefined,
    sagasModule: e.SAGALANE_SAGAS ? path.resolve(e.SAGALANE_SAGAS) : undefined,
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether `host` is this machine only: `localhost`, or an address in 127.0.0.0/8 or ::1 (IPv4-mapped `::ffff:127.x`
 * and a bracketed `[::1]` included). Decided by address: a name such as `127.corp.example` can resolve anywhere.
 */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, 'ipv4');
  if (family === 6) return LOOPBACK.check(h, 'ipv6');
  return false;
}

/** For process entry points: load the config or print what is wrong and exit(2). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(2);
    }
    throw err;
  }
}
