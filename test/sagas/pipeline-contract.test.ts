/** The client-facing helpers of the pipeline contract (no server needed). */
import {
  pipelineInputSchema,
  pipelineTuningSchema,
  pipelineWorkflowId,
} from '../../src/workflows/research/pipeline-contract';
import { rootMessage } from '../../src/workflows/saga';

describe('pipeline contract', () => {
  it('builds workflow ids as pipeline-<symbol>-<uuid> from the caller’s uuid', () => {
    expect(pipelineWorkflowId('BTC-USD', '0b5e6c1e-1111-4222-8333-944445555666')).toBe(
      'pipeline-BTC-USD-0b5e6c1e-1111-4222-8333-944445555666',
    );
    const generated = pipelineWorkflowId('AAPL');
    expect(generated).toMatch(
      /^pipeline-AAPL-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(pipelineWorkflowId('AAPL')).not.toBe(generated);
  });

  it('refuses a symbol that cannot be part of an id', () => {
    expect(() => pipelineWorkflowId('no spaces', 'u')).toThrow(/invalid symbol "no spaces"/);
  });

  it('validates input and tuning strictly (unknown fields are mistakes)', () => {
    expect(pipelineInputSchema.safeParse({ idea: 'momentum', symbol: 'DEMO', extra: 1 }).success).toBe(false);
    expect(pipelineInputSchema.safeParse({ idea: 'momentum', symbol: 'DEMO', timeoutMs: 50 }).success).toBe(
      false,
    );
    expect(pipelineTuningSchema.safeParse({ heartbeatTimeoutMs: 2_000 }).success).toBe(true);
    expect(pipelineTuningSchema.safeParse({ heartbeatTimout: 2_000 }).success).toBe(false);
  });

  it('reports the innermost message of a failure chain', () => {
    const inner = new Error('no NOPE.csv in data/');
    const outer = Object.assign(new Error('Activity task failed'), { cause: inner });
    expect(rootMessage(outer)).toBe('no NOPE.csv in data/');
    expect(rootMessage('plain')).toBe('plain');
  });
});
