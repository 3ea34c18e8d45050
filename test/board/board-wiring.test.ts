/**
 * How processes serve the board: the metrics component with `boardAddOn()` (what `sagalane dev`, `sagalane worker`
 * and `sagalane mcp` pass) serves `/board` beside `/metrics`, or on SAGALANE_BOARD_PORT; SAGALANE_BOARD=off serves
 * none; a non-loopback metrics host without a token serves none and says why.
 */
import { boardAddOn } from '../../src/board/board-add-on';
import { ConfigError, loadConfig } from '../../src/config';
import { createMetrics, startObservabilityServer } from '../../src/observability';
import { metricsComponent } from '../../src/runtime/components';
import type { RunningComponent } from '../../src/runtime/stack';
import { freePort } from '../helpers/ports';
import { redisUrl, uniquePrefix } from '../helpers/redis';

describe('board wiring', () => {
  const running: RunningComponent[] = [];
  afterAll(async () => {
    for (const r of running) await r.stop();
  });
  const start = async (env: Record<string, string>) => {
    const config = loadConfig({
      REDIS_URL: redisUrl(),
      SAGALANE_KEY_PREFIX: uniquePrefix('board-wiring'),
      SAGALANE_METRICS_PORT: '0',
      SAGALANE_LOG_LEVEL: 'error',
      ...env,
    });
    const r = await metricsComponent(boardAddOn()).start({
      config,
      temporalAddress: '',
      metrics: createMetrics(),
      log: () => undefined,
    });
    running.push(r);
    return r.endpoints ?? {};
  };

  it('serves /board on the metrics port, beside /metrics', async () => {
    const endpoints = await start({});
    expect(endpoints.Board).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/board$/);
    const page = await fetch(endpoints.Board!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('aria-label="express lane"');
    expect(html).toContain('<th scope="row">echo</th>');
    expect((await fetch(endpoints.Board!.replace('/board', '/metrics'))).status).toBe(200);
  });

  it('serves it on SAGALANE_BOARD_PORT when set, read-only when asked', async () => {
    const port = await freePort();
    const endpoints = await start({ SAGALANE_BOARD_PORT: String(port), SAGALANE_BOARD_READ_ONLY: 'true' });
    expect(endpoints.Board).toBe(`http://127.0.0.1:${port}/board (read-only)`);
    const html = await (await fetch(`http://127.0.0.1:${port}/board`)).text();
    expect(html).toContain('Read-only');
    expect((await fetch(endpoints.Metrics!.split(' ')[0]!.replace('/metrics', '/board'))).status).toBe(404);
  });

  it('serves none when off, or when exposed without a token', async () => {
    const off = await start({ SAGALANE_BOARD: 'off' });
    expect(off.Board).toBeUndefined();
    expect((await fetch(off.Metrics!.split(' ')[0]!.replace('/metrics', '/board'))).status).toBe(404);
    const exposed = await start({ SAGALANE_METRICS_HOST: '0.0.0.0' });
    expect(exposed.Board).toMatch(/^off: 0\.0\.0\.0 is not loopback and no SAGALANE_MCP_TOKEN is set/);
  });

  it('refuses a mount that would shadow an endpoint route or is not a plain prefix', async () => {
    const registry = createMetrics().registry;
    const handle = () => undefined;
    // A server that starts anyway is closed at once, so a failure here cannot hang the run.
    const attempt = (prefix: string) =>
      startObservabilityServer({ port: 0, registry, mounts: [{ prefix, handle }] }).then(
        async (server) => {
          await server.close();
          return 'started';
        },
        (err: Error) => err.message,
      );
    expect(await attempt('/metrics')).toMatch(/must look like "\/board" and not shadow a route/);
    expect(await attempt('board/')).toMatch(/mount prefix/);
  });

  it('validates its settings, naming the variable', () => {
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
      }
      return 'accepted';
    };
    expect(problem({ SAGALANE_BOARD: 'maybe' })).toContain('SAGALANE_BOARD');
    expect(problem({ SAGALANE_BOARD_PORT: '70000' })).toContain('SAGALANE_BOARD_PORT');
    expect(problem({ SAGALANE_BOARD_READ_ONLY: 'sometimes' })).toContain('SAGALANE_BOARD_READ_ONLY');
    expect(problem({ SAGALANE_TEMPORAL_UI_URL: 'ftp://ui.example' })).toContain('SAGALANE_TEMPORAL_UI_URL');
    expect(loadConfig({ SAGALANE_TEMPORAL_UI_URL: 'https://ui.example/' }).board).toEqual({
      enabled: true,
      port: undefined,
      readOnly: false,
      temporalUiUrl: 'https://ui.example',
    });
  });
});
