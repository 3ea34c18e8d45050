/**
 * The README's picture of one pipeline's trace in Jaeger's UI (docs/OBSERVABILITY.md, "Tracing"), taken with headless
 * Chromium (Debian's, driven by playwright-core as the lane board's tests do).
 *
 *   npm start -- --tracing                        # in one terminal: the stack, exporting to its Jaeger
 *   npx tsx scripts/jaeger-screenshot.ts          # in another: one pipeline through MCP, its trace → docs/tracing-jaeger.png
 *
 * Options: --jaeger <UI url> (default http://127.0.0.1:16686), --mcp <url> (default
 * http://<SAGALANE_MCP_HOST>:<SAGALANE_MCP_PORT>/mcp, bearer SAGALANE_MCP_TOKEN when set), --rollback (a data set that
 * does not exist: the trace shows the compensations; default --out docs/tracing-jaeger-rollback.png), --trace <id> (no
 * pipeline: capture that trace), --out <png> (default docs/tracing-jaeger.png).
 *
 * Jaeger's full UI is needed: a `go build` of Jaeger serves a placeholder page unless SAGALANE_JAEGER_UI_ASSETS pointed
 * it at a built jaeger-ui when it started (src/dev/jaeger.ts); the script says so rather than capture the placeholder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.SAGALANE_CHROMIUM ?? '/usr/bin/chromium';
const TERMINAL = ['completed', 'rolled_back', 'failed'];

interface JaegerTrace {
  traceID: string;
  spans: { spanID: string; tags: { key: string; value: unknown }[] }[];
  processes: Record<string, { serviceName: string }>;
}

const say = (line: string) => process.stderr.write(`[jaeger-screenshot] ${line}\n`);

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Polls `probe` every `intervalMs` until it yields a value; fails with `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Starts one pipeline through the MCP endpoint and follows it to its end; resolves with its saga id. */
async function runPipeline(mcpUrl: string, rollback: boolean): Promise<string> {
  const token = process.env.SAGALANE_MCP_TOKEN;
  const client = new Client({ name: 'jaeger-screenshot', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), {
      requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
    }),
  );
  const text = (r: unknown) =>
    (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  try {
    const args = {
      idea: rollback ? 'mean reversion on data that does not exist' : 'breakout to new highs',
      symbol: 'DEMO',
      ...(rollback ? { dataset: 'NO_SUCH_DATASET' } : {}),
    };
    const started = JSON.parse(text(await client.callTool({ name: 'start_pipeline', arguments: args }))) as {
      sagaId: string;
    };
    say(`started ${started.sagaId} through ${mcpUrl}`);
    const state = await until(
      `saga ${started.sagaId} to end`,
      async () => {
        const view = JSON.parse(
          text(await client.callTool({ name: 'get_saga', arguments: { sagaId: started.sagaId } })),
        ) as { state: string };
        return TERMINAL.includes(view.state) ? view.state : undefined;
      },
      180_000,
    );
    say(`saga ${started.sagaId} ended ${state}`);
    return started.sagaId;
  } finally {
    await client.close();
  }
}

/** The trace holding spans tagged `saga.id=<sagaId>`, once its span count has stopped growing (batched exports). */
async function traceOfSaga(jaegerUrl: string, sagaId: string): Promise<string> {
  const tags = encodeURIComponent(JSON.stringify({ 'saga.id': sagaId }));
  let last = { traceID: '', spans: -1 };
  for (let stable = 0; stable < 3;) {
    const { data: services } = await getJson<{ data: string[] | null }>(`${jaegerUrl}/api/services`);
    const traces: JaegerTrace[] = [];
    for (const service of services ?? []) {
      const q = `service=${encodeURIComponent(service)}&tags=${tags}&lookback=1h&limit=20`;
      traces.push(
        ...((await getJson<{ data: JaegerTrace[] | null }>(`${jaegerUrl}/api/traces?${q}`)).data ?? []),
      );
    }
    const biggest = traces.sort((a, b) => b.spans.length - a.spans.length)[0];
    const now = { traceID: biggest?.traceID ?? '', spans: biggest?.spans.length ?? 0 };
    stable = now.spans > 0 && now.traceID === last.traceID && now.spans === last.spans ? stable + 1 : 0;
    last = now;
    await sleep(2_000);
  }
  say(`trace ${last.traceID}: ${last.spans} spans`);
  return last.traceID;
}

async function screenshot(jaegerUrl: string, traceId: string, out: string): Promise<void> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-jaeger-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
    viewport: { width: 1600, height: 1000 },
    deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${jaegerUrl}/trace/${traceId}`, { waitUntil: 'networkidle' });
    // jaeger-ui's timeline: one `.span-row` per span once the trace has loaded and laid out.
    await page.waitForSelector('.span-row', { timeout: 30_000 });
    await page.waitForLoadState('networkidle');
    await sleep(500); // the timeline's bars animate in
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jaeger: { type: 'string', default: 'http://127.0.0.1:16686' },
      mcp: { type: 'string' },
      trace: { type: 'string' },
      rollback: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const jaegerUrl = values.jaeger!.replace(/\/+$/, '');
  const home = await fetch(`${jaegerUrl}/`).then((r) => r.text());
  if (/not the Jaeger UI you are looking for/.test(home))
    throw new Error(
      `${jaegerUrl} serves Jaeger's placeholder page: this Jaeger was built without the UI. Start the stack with ` +
        'SAGALANE_JAEGER_UI_ASSETS=<a built jaeger-ui, its packages/jaeger-ui/build> (docs/OBSERVABILITY.md, "Tracing").',
    );
  const mcpUrl =
    values.mcp ??
    `http://${process.env.SAGALANE_MCP_HOST ?? '127.0.0.1'}:${process.env.SAGALANE_MCP_PORT ?? '7300'}/mcp`;
  const traceId = values.trace ?? (await traceOfSaga(jaegerUrl, await runPipeline(mcpUrl, values.rollback!)));
  const out =
    values.out ??
    path.resolve(
      __dirname,
      '..',
      'docs',
      values.rollback ? 'tracing-jaeger-rollback.png' : 'tracing-jaeger.png',
    );
  await screenshot(jaegerUrl, traceId, out);
  process.stdout.write(`${out} (trace ${traceId}: ${jaegerUrl}/trace/${traceId})\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
