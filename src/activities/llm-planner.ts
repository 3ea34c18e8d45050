/**
 * The reasoning agent's LLM provider: one OpenAI-compatible `POST {baseUrl}/chat/completions` asking for a JSON
 * plan, validated with the same schema as the built-in planner's. Any failure is an `LlmProviderError` whose
 * message says what went wrong (late, HTTP status, not JSON, not a valid plan).
 */
import type { StrategyPlan } from './contracts';
import { LlmProviderError } from './errors';
import { FAMILY_SPECS } from './strategy-families';
import { describeIssues, MAX_GRID_SIZE, proposedPlanSchema } from './strategy-plan';
import { z } from 'zod';

export interface LlmSettings {
  /** e.g. `https://api.openai.com/v1` or a local server; `/chat/completions` is appended. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Time allowed for the whole answer. */
  timeoutMs: number;
}

/** The provider id stamped on plans and mixed into the plan-cache key. */
export function llmProviderId(settings: Pick<LlmSettings, 'model'>): string {
  return `llm:${settings.model}`;
}

const chatCompletionSchema = z.object({
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional() }) }))
    .min(1, 'no choices'),
});

function systemPrompt(): string {
  const families = Object.values(FAMILY_SPECS)
    .map(
      (f) =>
        `- ${f.family}: ${f.description} Parameters: ` +
        Object.entries(f.parameters)
          .map(
            ([name, p]) =>
              `${name} (${p.integer ? 'integer' : 'number'} in [${p.min}, ${p.max}]; ${p.description})`,
          )
          .join(', '),
    )
    .join('\n');
  return (
    'You turn a trading idea into a strategy plan. Answer with one JSON object and nothing else: ' +
    '{"family": <family>, "parameterRanges": {<name>: {"min": n, "max": n, "step": n}}, "rationale": <string>}.\n' +
    `Families and their parameters (give exactly the family's parameters; at most ${MAX_GRID_SIZE} combinations):\n` +
    families
  );
}

/** Asks the model for a plan. `signal` aborts the request early (activity cancellation). */
export async function planWithLlm(
  settings: LlmSettings,
  idea: string,
  symbol: string,
  signal?: AbortSignal,
): Promise<StrategyPlan> {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      signal: combined,
      headers: {
        'content-type': 'application/json',
        ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: settings.model,
        temperature: 0,
        response_format: { type: 'json_object' },
        messages: [
          { role: 'system', content: systemPrompt() },
          { role: 'user', content: `Symbol: ${symbol}\nIdea: ${idea}` },
        ],
      }),
    });
    text = await response.text();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new LlmProviderError(`LLM provider at ${url} did not answer within ${settings.timeoutMs} ms`, {
        url,
        timeoutMs: settings.timeoutMs,
      });
    }
    throw new LlmProviderError(`LLM provider at ${url} is unreachable: ${(err as Error).message}`, { url });
  }
  if (!response.ok) {
    // Wrong key, URL or model will not fix itself; rate limits and server errors may.
    const permanent = [400, 401, 403, 404, 422].includes(response.status);
    throw new LlmProviderError(
      `LLM provider at ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
      { url, status: response.status },
      !permanent,
    );
  }
  let content: string | null | undefined;
  try {
    const parsed = chatCompletionSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(describeIssues(parsed.error));
    content = parsed.data.choices[0]!.message.content;
  } catch (err) {
    throw new LlmProviderError(
      `LLM provider at ${url} sent something that is not a chat completion (${(err as Error).message}): ` +
        text.slice(0, 200),
      { url },
    );
  }
  let proposal: unknown;
  try {
    proposal = JSON.parse(stripCodeFence(content ?? ''));
  } catch {
    throw new LlmProviderError(`LLM answer is not a JSON plan: ${(content ?? '').slice(0, 200)}`, { url });
  }
  const plan = proposedPlanSchema.safeParse(proposal);
  if (!plan.success) {
    throw new LlmProviderError(`LLM plan failed validation: ${describeIssues(plan.error)}`, { url });
  }
  return { ...plan.data, provider: llmProviderId(settings) };
}

/** Models sometimes wrap JSON in ```json fences despite response_format. */
function stripCodeFence(content: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content);
  return m ? m[1]! : content;
}
