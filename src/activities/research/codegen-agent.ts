/**
 * The codegen agent: plan → JavaScript strategy, smoke-run in the sandbox, stored as the saga's `codegen`
 * artifact with its plan (its compensation deletes that artifact). `storedStrategyCode` is how ml and backtest read
 * it back, verified.
 */
import { z } from 'zod';
import type { AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { inAgentSpan } from './agent-spans';
import type {
  ArtifactCompensationInput,
  CodegenInput,
  CodegenOutput,
  StrategyCodeSource,
  StrategyFamily,
  StrategyPlan,
} from './contracts';
import { ArtifactTamperedError, InvalidAgentInputError } from './errors';
import { extraWarmupBars, generateStrategySource } from './strategy-codegen';
import { generateStrategySourceV1 } from './strategy-codegen-v1';
import { FAMILY_SPECS, parameterGrid, STRATEGY_FAMILIES } from './strategy-families';
import { strategyPlanSchema } from './strategy-plan';

export function createCodegenAgent(ctx: AgentContext) {
  return {
    async codegen(rawInput: CodegenInput): Promise<CodegenOutput> {
      const input = parseAgentInput(agentInputSchemas.codegen, rawInput, 'codegen');
      return inAgentSpan('codegen', { 'agent.family': input.plan.family }, async (span) => {
        const spec = FAMILY_SPECS[input.plan.family];
        const source = generateStrategySource(input.plan);
        const sampleParams = parameterGrid(input.plan.parameterRanges).find((p) => !spec.violates(p));
        if (!sampleParams) {
          throw new InvalidAgentInputError(
            `no parameter combination in the plan is valid for ${spec.family}`,
          );
        }
        const smokeBars = Math.max(120, spec.warmupBars(sampleParams) + extraWarmupBars(input.plan) + 60);
        // Its own span: the sandboxed run of the generated code, in this thread or a pooled one.
        await inAgentSpan('smoke_run', { 'agent.family': spec.family, 'agent.bars': smokeBars }, () =>
          ctx.runCpuTask('codegenSmoke', {
            source,
            params: sampleParams,
            bars: smokeBars,
            sandboxTimeoutMs: ctx.sandboxTimeoutMs,
            filename: `${input.sagaId}-strategy.js`,
          }),
        );
        const artifact = await ctx.store.put(input.sagaId, 'codegen', source, 'application/javascript', {
          family: spec.family,
          smokeParams: sampleParams,
          extraWarmupBars: extraWarmupBars(input.plan),
          // What ml and backtest generate the code from again (backtest's input has no plan).
          plan: input.plan,
        });
        span.setAttribute('agent.code_bytes', artifact.bytes);
        ctx.log.info('code generated', { sagaId: input.sagaId, family: spec.family, bytes: artifact.bytes });
        return { artifact };
      });
    },

    async compensateCodegen(input: ArtifactCompensationInput): Promise<void> {
      await ctx.deleteArtifact(input, 'codegen');
    },
  };
}

/**
 * The saga's strategy code, from its codegen artifact: `ArtifactMissingError` when codegen has not stored any,
 * `ArtifactTamperedError` when it is not what was stored. An artifact whose signature this process can check
 * (./artifact-store) must pass it; one signed by another process's own key (no `SAGALANE_ARTIFACT_KEY`) cannot be
 * checked, so its code is generated again here from the plan (the step's own, when given; else the one codegen
 * stored with it) and the stored code must be exactly that (or exactly what the generator before running sums wrote,
 * ./strategy-codegen-v1). Either way nothing unverified from Redis is run.
 */
export async function storedStrategyCode(
  ctx: AgentContext,
  sagaId: string,
  neededBy: string,
  plan?: StrategyPlan,
): Promise<StrategyCode> {
  const code = await ctx.store.require(sagaId, 'codegen', neededBy);
  const refuse = (why: string) =>
    new ArtifactTamperedError(
      `${neededBy} refused the codegen artifact of saga ${sagaId} (${code.key}): ${why}`,
      {
        sagaId,
        key: code.key,
      },
    );
  if (code.integrity === 'tampered') {
    throw refuse('it is not what codegen stored (its signature does not hold); run the saga again');
  }
  if (code.integrity === 'unverifiable') {
    const stored = strategyPlanSchema.safeParse(code.meta.plan);
    if (!plan && !stored.success)
      throw refuse('it was signed elsewhere and holds no plan to check it against');
    const from = plan ?? (stored.data as StrategyPlan);
    // Either today's code for the plan or what codegen wrote before its code kept running sums (an artifact from
    // before an upgrade, or from a worker not upgraded yet): the same positions either way.
    if (code.body !== generateStrategySource(from) && code.body !== generateStrategySourceV1(from)) {
      throw refuse(
        `its code is not what codegen writes for the ${plan ? "step's" : 'stored'} ${from.family} plan`,
      );
    }
    return { source: code.body, family: from.family, extraWarmupBars: extraWarmupBars(from) };
  }
  const family = z.enum(STRATEGY_FAMILIES).safeParse(code.meta.family);
  if (!family.success)
    throw new InvalidAgentInputError(`the codegen artifact of saga ${sagaId} names no family`);
  if (plan && plan.family !== family.data) {
    throw new InvalidAgentInputError(`the plan is ${plan.family} but the generated code is ${family.data}`);
  }
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
 * The strategy code ml or backtest runs: the saga's codegen artifact (verified, see `storedStrategyCode`), or
 * (`codeFrom: 'plan'`) the plan's code generated here. A plan given beside an artifact must name the artifact's
 * family.
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
  return storedStrategyCode(ctx, input.sagaId, neededBy, input.plan);
}
