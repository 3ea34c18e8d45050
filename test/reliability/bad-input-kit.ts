/**
 * A reproducible stream of bad MCP input (seeded): garbage text, random JSON, JSON-RPC with unknown methods, unknown
 * tools, wrong argument types, bad params, odd ids, truncated and deeply nested JSON, huge strings, notifications.
 * Each message says whether a reply is owed: a well-formed JSON-RPC request (string method, string/number id) must
 * get exactly one reply with its id; for anything else a reply is allowed but not required by JSON-RPC transports.
 */

export interface BadMessage {
  kind: string;
  text: string;
  /** The id a reply must carry, for well-formed requests. */
  expectReplyId?: number;
}

/** mulberry32: small, fast, good enough to vary inputs reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function badMessages(count: number, seed: number, firstId: number): BadMessage[] {
  const rnd = seededRandom(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const garbage = (len: number) =>
    Array.from({ length: len }, () => String.fromCharCode(32 + int(95)))
      .join('')
      .replace(/^\s+/, 'x');
  const randomJson = (depth = 0): unknown => {
    const r = int(depth > 3 ? 4 : 7);
    if (r === 0) return rnd() * 1e6 - 5e5;
    if (r === 1) return garbage(int(20));
    if (r === 2) return pick([true, false, null]);
    if (r === 3) return int(1000);
    if (r === 4) return Array.from({ length: int(4) }, () => randomJson(depth + 1));
    return Object.fromEntries(
      Array.from({ length: int(4) }, () => [garbage(1 + int(8)), randomJson(depth + 1)]),
    );
  };
  const tools = [
    'get_saga',
    'list_sagas',
    'get_task',
    'submit_task',
    'lane_stats',
    'get_saga_history',
    'cancel_saga',
  ];
  const out: BadMessage[] = [];
  for (let k = 0; k < count; k++) {
    const id = firstId + k;
    const request = (method: string, params?: unknown) =>
      JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    switch (k % 12) {
      case 0:
        out.push({ kind: 'garbage text', text: garbage(1 + int(200)) });
        break;
      case 1:
        out.push({ kind: 'random JSON', text: JSON.stringify(randomJson()) ?? 'null' });
        break;
      case 2:
        out.push({
          kind: 'unknown method',
          // MCP requests carry params as an object (or none); array params are the `scalar params` case's kin.
          text: request(`no/such/${garbage(6)}`, pick([undefined, {}, { a: randomJson() }])),
          expectReplyId: id,
        });
        break;
      case 3:
        out.push({
          kind: 'unknown tool',
          text: request('tools/call', { name: `nope_${int(1e6)}`, arguments: {} }),
          expectReplyId: id,
        });
        break;
      case 4:
        out.push({
          kind: 'wrong tool arguments',
          text: request('tools/call', { name: pick(tools), arguments: randomJson() }),
          expectReplyId: id,
        });
        break;
      case 5:
        out.push({
          // Not a well-formed MCP request (params must be an object): a reply is allowed, not owed.
          kind: 'non-object params',
          text: request(pick(['tools/list', 'resources/read', 'tools/call']), pick([42, 'x', [1, 2]])),
        });
        break;
      case 6:
        out.push({
          kind: 'notification',
          text: JSON.stringify({ jsonrpc: '2.0', method: `notifications/${garbage(5)}` }),
        });
        break;
      case 7:
        out.push({
          kind: 'invalid id',
          text: JSON.stringify({ jsonrpc: '2.0', id: pick([{}, [], true, 1.5e300]), method: 'tools/list' }),
        });
        break;
      case 8: {
        const whole = request('tools/call', { name: 'get_task', arguments: { taskId: 'echo:x' } });
        out.push({ kind: 'truncated JSON', text: whole.slice(0, 1 + int(whole.length - 2)) });
        break;
      }
      case 9:
        out.push({ kind: 'deeply nested', text: '['.repeat(5000) + ']'.repeat(5000) });
        break;
      case 10:
        out.push({
          kind: 'huge string argument',
          text: request('tools/call', { name: 'get_saga', arguments: { sagaId: 'x'.repeat(100_000) } }),
          expectReplyId: id,
        });
        break;
      default:
        out.push({
          kind: 'wrong jsonrpc version',
          text: JSON.stringify({ jsonrpc: '1.0', id, method: 'tools/list' }),
        });
    }
  }
  return out;
}

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'reliability', version: '1' },
  },
} as const;
export const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' } as const;
