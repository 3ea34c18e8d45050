/**
 * One rule, one place: the symbol rule is one zod schema (built on one pattern) that the agents, the lane's agent
 * payloads, the pipeline contract and the workflow's zod-free validator all apply, so they accept and refuse the
 * same symbols. The CPU tasks a worker-thread pool may run take and return plain data.
 */
import { agentInputSchemas, symbolSchema } from '../../src/activities/research/agent-schemas';
import { CPU_TASKS, runCpuTaskInProcess } from '../../src/activities/research/cpu-tasks';
import { generateStrategySource, smokeSampleBars } from '../../src/activities/research/strategy-codegen';
import { agentPayloadSchemas } from '../../src/activities/research/agent-task-types';
import { pipelineInputSchema } from '../../src/workflows/research/pipeline-contract';
import { validatePipelineInput } from '../../src/workflows/research/pipeline-input-validation';

const GOOD = ['DEMO', 'btc-usd', 'BRK.B', 'A_1', ' TREND '];
const BAD = ['', 'BTC USD', 'a/b', 'x'.repeat(21), 'DEMO;DROP', 'ÄPFEL'];

describe('the symbol rule', () => {
  it.each(GOOD)('accepts %j everywhere', (symbol) => {
    expect(symbolSchema.safeParse(symbol).success).toBe(true);
    expect(agentInputSchemas.reasoning.safeParse({ sagaId: 's', idea: 'momentum', symbol }).success).toBe(
      true,
    );
    expect(agentPayloadSchemas.reasoning.safeParse({ idea: 'momentum', symbol }).success).toBe(true);
    // The lane's backtest takes the symbol: it refuses this payload only for the plan it lacks (a lane backtest
    // generates its code from one; it names no saga, #25 finding 4).
    const lane = agentPayloadSchemas.backtest.safeParse({ symbol, params: {} });
    expect(lane.error!.issues.map((i) => i.path[0])).toEqual(['plan']);
    expect(pipelineInputSchema.safeParse({ idea: 'momentum', symbol }).success).toBe(true);
    expect(validatePipelineInput({ idea: 'momentum', symbol }).success).toBe(true);
  });

  it.each(BAD)('refuses %j everywhere, the lane included, with the same message', (symbol) => {
    const message = 'symbol must be 1-20 letters, digits, dot, dash or underscore';
    const lane = agentPayloadSchemas.ml.safeParse({ symbol, plan: undefined });
    expect(lane.success).toBe(false);
    expect(lane.error!.issues.find((i) => i.path[0] === 'symbol')?.message).toBe(message);
    expect(agentPayloadSchemas.reasoning.safeParse({ idea: 'momentum', symbol }).success).toBe(false);
    expect(pipelineInputSchema.safeParse({ idea: 'momentum', symbol }).success).toBe(false);
    const workflow = validatePipelineInput({ idea: 'momentum', symbol });
    expect(workflow.success).toBe(false);
    expect(!workflow.success && workflow.issues[0]!.message).toBe(message);
  });
});

describe('CPU tasks', () => {
  it('name a module and export a pool can load', () => {
    for (const { module, exportName } of Object.values(CPU_TASKS)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      expect(typeof (require(module) as Record<string, unknown>)[exportName]).toBe('function');
    }
  });

  it('take and return structured-clonable data (what crosses a worker thread)', async () => {
    const source = generateStrategySource({ family: 'momentum' });
    const input = {
      source,
      bars: smokeSampleBars(200),
      candidates: [{ lookback: 10 }, { lookback: 20 }],
      costPerUnit: 0.0005,
      sandboxTimeoutMs: 1000,
    };
    const result = await runCpuTaskInProcess('parameterSearch', structuredClone(input));
    expect(structuredClone(result)).toEqual(result);
    expect(result.ranked).toHaveLength(2);
    const backtest = await runCpuTaskInProcess('backtestRun', {
      source,
      bars: input.bars,
      heldOutFrom: 140,
      params: { lookback: 10 },
      costPerUnit: 0,
      sandboxTimeoutMs: 1000,
    });
    expect(structuredClone(backtest)).toEqual(backtest);
    expect(backtest.metrics.bars).toBe(60);
  });
});
