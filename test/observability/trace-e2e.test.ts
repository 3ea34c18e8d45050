/**
 * One trace from the MCP call to the agent, in process with the OpenTelemetry SDK's in-memory exporter, on the real
 * dev server and Redis: an MCP client calls start_pipeline with a `_meta.traceparent`, the saga worker (bundled at
 * start with Temporal's tracing interceptor) dispatches each step on the lane, the express worker runs the real agents.
 * Every span of that run is in the caller's trace, each under the one that caused it; a rollback's compensations are
 * there too, marked.
 */
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { ExpressClient } from '../../src/lane/express-client';
import { createMcpServer } from '../../src/mcp/server';
import { flushTracing } from '../../src/observability/tracing';
import { startTracedStack, type TracedStack } from './traced-stack';

const exporter = new InMemorySpanExporter();

/** The caller's own span, as an MCP client that traces would send it. */
function callerTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = hex(32);
  const spanId = hex(16);
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** The spans of one trace, with lookups by name and by parent. */
class Trace {
  constructor(readonly spans: ReadableSpan[]) {}
  named(name: string): ReadableSpan[] {
    return this.spans.filter((s) => s.name === name);
  }
  one(name: string): ReadableSpan {
    const found = this.named(name);
    if (found.length !== 1)
      throw new Error(`${found.length} spans named ${name}; the trace has: ${this.names().join(', ')}`);
    return found[0]!;
  }
  parentOf(span: ReadableSpan): ReadableSpan | undefined {
    return this.spans.find((s) => s.spanContext().spanId === span.parentSpanId);
  }
  /** The nearest ancestor of `span` with that name (spans made in between, e.g. a step's own, are skipped). */
  ancestorNamed(span: ReadableSpan, name: string): ReadableSpan | undefined {
    for (let s = this.parentOf(span); s; s = this.parentOf(s)) if (s.name === name) return s;
    return undefined;
  }
  childrenOf(span: ReadableSpan): ReadableSpan[] {
    return this.spans.filter((s) => s.parentSpanId === span.spanContext().spanId);
  }
  names(): string[] {
    return [...new Set(this.spans.map((s) => s.name))].sort();
  }
}

async function traceOf(traceId: string): Promise<Trace> {
  await flushTracing();
  return new Trace(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId));
}

describe('one trace from the MCP call to the agent', () => {
  let stack: TracedStack;
  let express: ExpressClient;
  let mcp: McpClient;

  beforeAll(async () => {
    // Bundled at start (no prebuilt bundle): with tracing on, the bundle gets Temporal's tracing interceptor.
    stack = await startTracedStack('trace-e2e', exporter);
    express = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: stack.config.redisUrl,
      keyPrefix: stack.config.keyPrefix,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    mcp = new McpClient({ name: 'trace-test', version: '1.0.0' });
    await Promise.all([
      createMcpServer({ sagas: stack.sagas, express }).connect(serverSide),
      mcp.connect(clientSide),
    ]);
  }, 120_000);

  afterAll(async () => {
    await mcp?.close();
    await express?.close();
    await stack?.stop();
  });

  async function startThroughMcp(args: Record<string, unknown>, traceparent: string): Promise<string> {
    const result = (await mcp.callTool({
      name: 'start_pipeline',
      arguments: args,
      _meta: { traceparent },
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    return (JSON.parse(text) as { sagaId: string }).sagaId;
  }

  it('a pipeline: MCP call → workflow start → workflow → each step → its lane task, in the caller trace', async () => {
    const caller = callerTraceparent();
    const sagaId = await startThroughMcp(
      { idea: 'trend following with moving averages', symbol: 'DEMO' },
      caller.traceparent,
    );
    await stack.sagas.result(sagaId);
    const trace = await traceOf(caller.traceId);

    const call = trace.one('tools/call start_pipeline');
    expect(call.parentSpanId).toBe(caller.spanId);
    expect(call.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'start_pipeline',
    });
    const start = trace.one('StartWorkflow:researchPipeline');
    expect(trace.parentOf(start)).toBe(call);
    const run = trace.one('RunWorkflow:researchPipeline');
    expect(trace.parentOf(run)).toBe(start);

    for (const step of ['reasoning', 'codegen', 'ml', 'backtest']) {
      const scheduled = trace.named(`StartActivity:${step}`);
      expect(scheduled.length).toBeGreaterThanOrEqual(1);
      for (const s of scheduled) expect(trace.parentOf(s)).toBe(run);
      const ran = trace.named(`RunActivity:${step}`);
      expect(ran.length).toBeGreaterThanOrEqual(1);
      for (const r of ran) {
        expect(scheduled).toContain(trace.parentOf(r));
        expect(r.attributes).toMatchObject({
          'saga.id': sagaId,
          'saga.type': 'researchPipeline',
          'saga.step': step,
          'saga.attempt': 1,
        });
        expect(r.attributes).not.toHaveProperty('saga.compensation');
      }
      // The lane task that ran the step: a child of the step's activity span, its wait shown beside its run.
      const laneRun = trace.one(`lane.run step.${step}`);
      expect(ran).toContain(trace.parentOf(laneRun));
      expect(laneRun.attributes).toMatchObject({
        'lane.task.type': `step.${step}`,
        'lane.outcome': 'succeeded',
        'lane.delivery_count': 1,
      });
      const laneWait = trace.one(`lane.wait step.${step}`);
      expect(trace.parentOf(laneWait)).toBe(trace.parentOf(laneRun));
      const stepSpan = trace.one(`step ${step}`);
      expect(trace.parentOf(stepSpan)).toBe(laneRun);
      expect(stepSpan.attributes).toMatchObject({ 'saga.id': sagaId, 'saga.step': step });
    }
    // The step-duration histogram names the saga's trace in an exemplar (OpenMetrics exposition).
    expect(stack.metrics.saga.exemplars).toBe(true);
    const exposition = await stack.metrics.registry.metrics();
    expect(exposition).toMatch(
      new RegExp(
        `sagalane_saga_step_duration_seconds_bucket\\{[^}]*step="backtest"[^}]*\\} \\d+ # \\{trace_id="${caller.traceId}"\\}`,
      ),
    );
    expect(stack.metrics.registry.contentType).toContain('application/openmetrics-text');
    // Payloads never go into spans: no attribute holds the idea.
    for (const span of trace.spans)
      for (const value of Object.values(span.attributes))
        expect(String(value)).not.toContain('trend following with moving averages');
    // The agents' phases: inside the lane task that ran their step (lane.run step.<step>), each phase once.
    const phases: Record<string, string[]> = {
      reasoning: ['agent.plan'],
      codegen: ['agent.codegen', 'agent.smoke_run'],
      ml: ['agent.ml', 'agent.parameter_search'],
      backtest: ['agent.backtest'],
    };
    for (const [step, names] of Object.entries(phases)) {
      for (const name of names) {
        const phase = trace.one(name);
        expect(trace.ancestorNamed(phase, `lane.run step.${step}`)).toBeDefined();
        expect(phase.status.code).not.toBe(2); // ERROR
      }
    }
    expect(trace.parentOf(trace.one('agent.smoke_run'))).toBe(trace.one('agent.codegen'));
    expect(trace.parentOf(trace.one('agent.parameter_search'))).toBe(trace.one('agent.ml'));
    expect(trace.one('agent.plan').attributes).toMatchObject({
      'agent.planner': 'builtin',
      'agent.cache_hit': false,
    });
    expect(trace.one('agent.parameter_search').attributes['agent.candidates']).toBeGreaterThan(0);
  }, 90_000);

  it('a malformed _meta.traceparent is ignored: the call succeeds and starts a trace of its own', async () => {
    const sagaId = await startThroughMcp({ idea: 'breakout on volume', symbol: 'DEMO' }, '00-not-a-trace-01');
    await stack.sagas.result(sagaId);
    await flushTracing();
    const call = exporter
      .getFinishedSpans()
      .find((s) => s.name === 'tools/call start_pipeline' && s.attributes['saga.id'] === sagaId);
    expect(call).toBeDefined();
    expect(call!.parentSpanId).toBeUndefined();
    const trace = await traceOf(call!.spanContext().traceId);
    expect(trace.parentOf(trace.one('StartWorkflow:researchPipeline'))).toBe(call);
    expect(trace.named('RunActivity:backtest').length).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('a rollback: the failed step and each compensation are in the trace, compensations marked', async () => {
    const caller = callerTraceparent();
    const sagaId = await startThroughMcp(
      {
        idea: 'mean reversion on a data set that does not exist',
        symbol: 'DEMO',
        dataset: 'NO_SUCH_DATASET',
      },
      caller.traceparent,
    );
    await expect(stack.sagas.result(sagaId)).rejects.toThrow();
    const trace = await traceOf(caller.traceId);
    const run = trace.one('RunWorkflow:researchPipeline');

    // The workflow's span of the failed step ends in error (the dispatch activity itself ends when it handed the
    // step to the lane; the lane task's run carries the failure).
    const ml = trace.named('StartActivity:ml');
    expect(ml.length).toBeGreaterThanOrEqual(1);
    expect(ml.some((s) => s.status.code === 2)).toBe(true); // ERROR
    const compensations = trace.spans.filter((s) => s.attributes['saga.compensation'] === true);
    expect(compensations.map((s) => s.attributes['saga.step']).sort()).toEqual(['codegen', 'reasoning']);
    for (const c of compensations) {
      expect(c.attributes['saga.id']).toBe(sagaId);
      expect(trace.parentOf(trace.parentOf(c)!)).toBe(run);
    }
    // The agent's failed phase (the data set it could not load) records the error, inside the ml lane task.
    const failedMl = trace.named('agent.ml');
    expect(failedMl.length).toBeGreaterThanOrEqual(1);
    for (const phase of failedMl) {
      expect(trace.ancestorNamed(phase, 'lane.run step.ml')).toBeDefined();
      expect(phase.status.code).toBe(2); // ERROR
      expect(phase.events.some((e) => e.name === 'exception')).toBe(true);
    }
    // The failure itself is on the step's span inside the lane task that ran it (the lane task succeeded: it
    // delivered the failure to Temporal).
    const mlSteps = trace.named('step ml');
    expect(mlSteps.length).toBeGreaterThanOrEqual(1);
    for (const step of mlSteps) expect(trace.parentOf(step)!.name).toBe('lane.run step.ml');
    expect(mlSteps.some((s) => s.status.code === 2 && s.events.some((e) => e.name === 'exception'))).toBe(
      true,
    );
  }, 90_000);
});
