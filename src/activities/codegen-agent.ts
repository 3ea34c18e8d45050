/**
 * The codegen agent: plan → JavaScript strategy, smoke-run in the sandbox, stored as the saga's `codegen`
 * artifact (its compensation deletes that artifact). `storedStrategyCode` is how ml and backtest read it back.
 */
import { z } from 'zod';
import type { AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import type {
  ArtifactCompensationInput,
  CodegenInput,
  CodegenOutput,
  StrategyCodeSource,
  StrategyFamily,
  StrategyPlan,
} from './contracts';
import { InvalidAgentInputError } from './errors';
import { extraWarmupBars, generateStrategySource } from './strategy-codegen';
import { FAMILY_SPECS, parameterGrid, STRATEGY_FAMILIES } from './strategy-families';

export function createCodegenAgent(ctx: AgentContext) {
  return {
    async codegen(rawInput: CodegenInput): Promise<CodegenOutput> {
      const input = parseAgentInput(agentInputSchemas.codegen, rawInput, 'codegen');
      const spec = FAMILY_SPECS[input.plan.family];
      const source = generateStrategySource(input.plan);
      const sampleParams = parameterGrid(input.plan.parameterRanges).find((p) => !spec.violates(p));
      if (!sampleParams) {
        throw new InvalidAgentInputError(`no parameter combination in the plan is valid for ${spec.family}`);
      }
      await ctx.runCpuTask('codegenSmoke', {
        source,
        params: sampleParams,
        bars: Math.max(120, spec.warmupBars(sampleParams) + extraWarmupBars(input.plan) + 60),
        sandboxTimeoutMs: ctx.sandboxTimeoutMs,
        filename: `${input.sagaId}-strategy.js`,
      });
      const artifact = await ctx.store.put(input.sagaId, 'codegen', source, 'application/javascript', {
        family: spec.family,
        smokeParams: sampleParams,
        extraWarmupBars: extraWarmupBars(input.plan),
      });
      ctx.log.info('code generated', { sagaId: input.sagaId, family: spec.family, bytes: artifact.bytes });
      return { artifact };
    },

    async compensateCodegen(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'codegen');
    },
  };
}

/** The saga's generated code and its family; `ArtifactMissingError` when codegen has not stored any. */
export async function storedStrategyCode(
  ctx: AgentContext,
  sagaId: string,
  neededBy: string,
): Promise<StrategyCode> {
  const code = await ctx.store.require(sagaId, 'codegen', neededBy);
  const family = z.enum(STRATEGY_FAMILIES).safeParse(code.meta.family);
  if (!family.success)
    throw new InvalidAgentInputError(`the codegen artifact of saga ${sagaId} names no family`);
  const extra = Number(code.meta.extraWarmupBars ?? 0);
  return { source: code.body, family: family.data, extraWarmupBars: Number.isFinite(extra) ? extra : 0 };
}

export interface StrategyCode {
  source: string;
  family: StrategyFamily;
  /** Bars the plan's extras (volatility filter) need beyond the family's warm-up. */
  extraWarmupBars: number;
}

/**
 * The strategy code ml or backtest runs: the saga's codegen artifact, or (`codeFrom: 'plan'`) the plan's code
 * generated here. A plan given beside an artifact must name the artifact's family.
 */
export async function strategyCodeFor(
  ctx: AgentContext,
  input: { sagaId: string; plan?: StrategyPlan; codeFrom?: StrategyCodeSource },
  neededBy: string,
): Promise<StrategyCode> {
  if (input.codeFrom === 'plan') {
    if (!input.plan) {
      throw new InvalidAgentInputError(
        `${neededBy} with codeFrom "plan" needs the plan (the strategy to generate code for) in its input`,
      );
    }
    return {
      source: generateStrategySource(input.plan),
      family: input.plan.family,
      extraWarmupBars: extraWarmupBars(input.plan),
    };
  }
  const code = await storedStrategyCode(ctx, input.sagaId, neededBy);
  if (input.plan && input.plan.family !== code.family) {
    throw new InvalidAgentInputError(
      `the plan is ${input.plan.family} but the generated code is ${code.family}`,
    );
  }
  return code;
}
