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
  const tokenDigest = options.token ? digest(options.token) : undefined;

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
    if (tokenDigest) {
      const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
      if (!match || !timingSafeEqual(digest(match[1]!.trim()), tokenDigest)) {
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

/** Fixed-length digests so the comparison takes the same time whatever the token's length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
