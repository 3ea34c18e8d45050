/**
 * The CLI with tracing on, as a user runs it: `sagalane task submit … --json --verbose` with the standard OTEL_*
 * variables pointing at a collector (here an OTLP/HTTP JSON sink in the test) is one span, exported before the
 * process ends; its trace id is printed on stderr, carried in the JSON output and written into the lane entry, so
 * the worker's spans join the command's trace. Off, nothing of it appears.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { redisClient, redisUrl, deleteKeys, uniquePrefix } from '../helpers/redis';
import { runSagalane } from '../front/front-kit';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

describe('the CLI with tracing on', () => {
  const redis = redisClient();
  const prefix = uniquePrefix('cli-tracing');
  const received: OtlpExport[] = [];
  let sink: http.Server;
  let endpoint: string;

  beforeAll(async () => {
    sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') received.push(JSON.parse(body) as OtlpExport);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redisUrl(),
      SAGALANE_KEY_PREFIX: prefix,
      SAGALANE_LOG_LEVEL: 'warn',
    };
    for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
    return env;
  };
  const submit = [
    'task',
    'submit',
    '--type',
    'echo',
    '--payload',
    '{"message":"traced"}',
    '--json',
    '--verbose',
  ];

  it('prints the trace id, carries it in --json output and the lane entry, and exports the command span', async () => {
    const run = await runSagalane(
      {
        ...baseEnv(),
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
      submit,
    );
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { taskId: string; traceId: string };
    expect(out.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(run.stderr).toContain(`trace ${out.traceId}`);

    // The command's span reached the collector before the process ended, under the CLI's service name.
    const spans = received.flatMap((e) =>
      e.resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) =>
          s.spans.map((span) => ({
            ...span,
            service: r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
          })),
        ),
      ),
    );
    const command = spans.find((s) => s.name === 'sagalane task submit');
    expect(command).toMatchObject({ traceId: out.traceId, service: 'sagalane-cli' });

    // The lane entry carries the command's trace context: the worker that runs it continues this trace.
    const entries: string[][] = [];
    for (const key of await redis.keys(`${prefix}*`))
      if ((await redis.type(key)) === 'stream')
        for (const [, fields] of await redis.xrange(key, '-', '+')) entries.push(fields);
    const traced = entries.find((f) => f.includes('tp'));
    expect(traced?.[traced.indexOf('tp') + 1]).toMatch(
      new RegExp(`^00-${out.traceId}-${command!.spanId}-01$`),
    );
  });

  it('tracing off: no trace id anywhere, and --verbose says tracing is off', async () => {
    const run = await runSagalane(baseEnv(), submit);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).not.toHaveProperty('traceId');
    expect(run.stderr).toContain('tracing is off');
  });
});
