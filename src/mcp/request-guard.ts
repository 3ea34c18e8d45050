/**
 * The checks every MCP HTTP request passes before it reaches the transport: the Host header (DNS rebinding: a
 * malicious page resolving its own name to 127.0.0.1 sends its own Host), the Origin header when a browser sends one,
 * and the bearer token when one is configured (compared in constant time).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestGuardOptions {
  /** The port the server listens on; loopback Host values must carry it. */
  port: number;
  /** Required bearer token; undefined = no token needed (loopback only, enforced by the config). */
  token?: string;
  /** More accepted bearer tokens (one per client or team), each its own holder for the per-token caps. */
  tokens?: string[];
  /** Extra accepted Host values: `name` (any port) or `name:port`. */
  allowedHosts?: string[];
  /** Extra accepted Origin values, e.g. `https://assistant.example.com`. */
  allowedOrigins?: string[];
}

export type GuardVerdict =
  { ok: true } | { ok: false; status: 401 | 403 | 421; message: string; headers?: Record<string, string> };

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function createRequestGuard(
  options: RequestGuardOptions,
): (headers: IncomingHttpHeaders) => GuardVerdict {
  const hosts = new Set<string>(LOOPBACK_NAMES.map((n) => `${n}:${options.port}`));
  const anyPortHosts = new Set<string>();
  for (const h of options.allowedHosts ?? []) {
    const value = h.trim().toLowerCase();
    if (!value) continue;
    if (/:\d+$/.test(value)) hosts.add(value);
    else anyPortHosts.add(value);
  }
  const origins = new Set<string>(LOOPBACK_NAMES.map((n) => `http://${n}:${options.port}`));
  for (const o of options.allowedOrigins ?? [])
    if (o.trim()) origins.add(o.trim().toLowerCase().replace(/\/$/, ''));
  const tokenDigests = tokensOf(options).map(digest);

  return (headers) => {
    const host = (headers.host ?? '').trim().toLowerCase();
    if (!hosts.has(host) && !anyPortHosts.has(host.replace(/:\d+$/, ''))) {
      return {
        ok: false,
        status: 421,
        message:
          `Host "${host || '(none)'}" is not allowed. Connect through 127.0.0.1:${options.port} or add the name to ` +
          'SAGALANE_MCP_ALLOWED_HOSTS.',
      };
    }
    const origin = headers.origin?.trim().toLowerCase();
    if (origin !== undefined && origin !== '' && !origins.has(origin)) {
      return {
        ok: false,
        status: 403,
        message: `Origin "${origin}" is not allowed. Add it to SAGALANE_MCP_ALLOWED_ORIGINS to accept it.`,
      };
    }
    if (tokenDigests.length > 0) {
      if (tokenIndexOf(headers, tokenDigests) < 0) {
        return {
          ok: false,
          status: 401,
          message: 'Missing or wrong bearer token: send "Authorization: Bearer <SAGALANE_MCP_TOKEN>".',
          headers: { 'www-authenticate': 'Bearer realm="sagalane-mcp"' },
        };
      }
    }
    return { ok: true };
  };
}

/** The accepted tokens, `token` first, without duplicates. */
export function tokensOf(options: { token?: string; tokens?: string[] }): string[] {
  return [...new Set([options.token, ...(options.tokens ?? [])].filter((t): t is string => !!t))];
}

/**
 * Who sends a request, for the per-token caps: `token:<n>` for the n-th accepted token (`tokensOf` order), or
 * `anonymous` when no token is configured. Call it on requests the guard accepted.
 */
export function createHolderOf(options: {
  token?: string;
  tokens?: string[];
}): (headers: IncomingHttpHeaders) => string {
  const digests = tokensOf(options).map(digest);
  return (headers) => {
    if (digests.length === 0) return 'anonymous';
    const index = tokenIndexOf(headers, digests);
    return index < 0 ? 'unknown' : `token:${index}`;
  };
}

/** Index of the bearer token among `digests`, or -1; every digest is compared, so the time does not tell which. */
function tokenIndexOf(headers: IncomingHttpHeaders, digests: Buffer[]): number {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  if (!match) return -1;
  const sent = digest(match[1]!.trim());
  let index = -1;
  digests.forEach((d, i) => {
    if (timingSafeEqual(sent, d) && index < 0) index = i;
  });
  return index;
}

/** Fixed-length digests so the comparison takes the same time whatever the token's length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
