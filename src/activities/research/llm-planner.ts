/**
 * The reasoning agent's LLM provider: an OpenAI-compatible `POST {baseUrl}/chat/completions` asking for a JSON plan
 * of the same schema as the built-in planner's (family, ranges, direction, exits, understood, assumed), with the
 * family table in the system prompt. `planWithLlmOrFallback` is what reasoning calls: a reply that fails the schema
 * is asked for once more (with the validation errors), and when the second reply fails too, or the provider is late,
 * unreachable or failing (5xx, 429), the built-in planner answers and the plan says so (`provider`, `assumed`).
 * Answers that retrying cannot change (HTTP 400/401/403/404/422: wrong key, model or URL) fail non-retryably, so a
 * misconfiguration is loud rather than hidden behind the fallback.
 *
 * Its errors go into saga state and logs, so they name the endpoint without credentials and carry at most 200
 * characters of the provider's reply, with anything that looks like a key taken out (`redactedExcerpt`).
 */
import { z } from 'zod';
import type { StrategyPlan } from './contracts';
import { redactedExcerpt, redactText, redactUrl } from '../../core';
import { LlmProviderError } from './errors';
import { FAMILY_SPECS } from './strategy-families';
import { barsPerPeriodText, DEFAULT_BAR_FREQUENCY, type BarFrequency } from './idea-numbers';
import {
  describeIssues,
  MAX_GRID_SIZE,
  planFromIdea,
  planSchemaForIdea,
  refuseUnmapped,
} from './strategy-plan';

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

function systemPrompt(frequency: BarFrequency): string {
  const families = Object.values(FAMILY_SPECS)
    .map(
      (f) =>
        `- ${f.family} (default direction ${f.defaultDirection}): ${f.description} Parameters: ` +
        Object.entries(f.parameters)
          .map(
            ([name, p]) =>
              `${name} (${p.integer ? 'integer' : 'number'} in [${p.min}, ${p.max}]; ${p.description})`,
          )
          .join(', '),
    )
    .join('\n');
  return (
    'You turn a trading idea into a strategy plan. Answer with one JSON object and nothing else:\n' +
    '{"family": <family>, "parameterRanges": {<name>: {"min": n, "max": n, "step": n}}, "rationale": <string>, ' +
    '"direction": "long_only" | "long_short", "risk": {"stopLossPct"?: n, "takeProfitPct"?: n} (optional), ' +
    '"volatilityFilter": {"lookback": n, "maxAnnualVolPct": n} (optional), ' +
    '"understood": [{"phrase": <words of the idea>, "meaning": <what you made of them>}], ' +
    '"assumed": [<each thing you assumed because the idea did not say>], ' +
    '"familySource": "idea" if the idea names one of the families, "default" if you had to pick one}.\n' +
    'Numbers in the idea become the centre of their parameter range (two steps either side); when the idea says ' +
    '"exactly", min = max = that number. Parameters the idea does not name get a sensible range and an "assumed" ' +
    'entry. Every number written in the idea (digits or words: "10/30", "three standard deviations", "a ' +
    'fortnight") goes in exactly one place, never both: in "understood", with a phrase copied from the idea that ' +
    'holds it and the meaning "<parameter> ≈ <value>" ("=" when exactly), or in "assumed" as an entry of the ' +
    'form: ignored "<the number as written>": <why>. Every "understood" phrase is words copied from the idea. ' +
    `Periods are counted in bars of ${frequency} data (bars per ${barsPerPeriodText(frequency)}). ` +
    `Families and their parameters (give exactly the family's parameters; at most ${MAX_GRID_SIZE} ` +
    'combinations):\n' +
    families
  );
}

export interface LlmPlanOptions {
  signal?: AbortSignal;
  /** Refuse an idea the model reports as naming no family (familySource "default"). @defaultValue false */
  strict?: boolean;
  /** What one bar of the data set is, for periods in words. @defaultValue 'daily' (the sample data's) */
  barFrequency?: BarFrequency;
}

/**
 * The plan from the model (one more request when the reply fails the schema), else from the built-in planner with
 * `provider: "builtin (fallback from llm:<model>)"` and the reason first in `assumed`. `fellBack` says which.
 */
export async function planWithLlmOrFallback(
  settings: LlmSettings,
  idea: string,
  symbol: string,
  options: LlmPlanOptions = {},
): Promise<{ plan: StrategyPlan; fellBack: boolean }> {
  let failure: LlmProviderError;
  try {
    let plan: StrategyPlan;
    try {
      plan = await planWithLlm(settings, idea, symbol, options.signal, undefined, options.barFrequency);
    } catch (err) {
      if (!(err instanceof LlmProviderError) || err.details?.reply !== 'invalid') throw err;
      plan = await planWithLlm(settings, idea, symbol, options.signal, err.message, options.barFrequency);
    }
    if (options.strict) refuseUnmapped(idea, plan.familySource);
    return { plan, fellBack: false };
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (!(err instanceof LlmProviderError) || !err.retryable) throw err;
    failure = err;
  }
  const plan = planFromIdea(idea, symbol, { strict: options.strict, barFrequency: options.barFrequency });
  return {
    fellBack: true,
    plan: {
      ...plan,
      provider: `builtin (fallback from ${llmProviderId(settings)})`,
      assumed: [
        `the LLM planner failed (${failure.message.slice(0, 300)}), so the built-in planner answered`,
        ...(plan.assumed ?? []),
      ],
    },
  };
}

/** Asks the model for a plan. `signal` aborts the request early (activity cancellation). */
export async function planWithLlm(
  settings: LlmSettings,
  idea: string,
  symbol: string,
  signal?: AbortSignal,
  /** The validation errors of the previous reply, when asking again. */
  previousError?: string,
  barFrequency: BarFrequency = DEFAULT_BAR_FREQUENCY,
): Promise<StrategyPlan> {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  // What messages and details say: no credentials (fetch refuses a URL with a user or password in any case).
  const shownUrl = redactUrl(url);
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
          { role: 'system', content: systemPrompt(barFrequency) },
          { role: 'user', content: `Symbol: ${symbol}\nIdea: ${idea}` },
          ...(previousError
            ? [
                {
                  role: 'user',
                  content: `Your previous reply was refused: ${previousError}. Answer again with one valid JSON plan.`,
                },
              ]
            : []),
        ],
      }),
    });
    text = await response.text();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new LlmProviderError(
        `LLM provider at ${shownUrl} did not answer within ${settings.timeoutMs} ms`,
        {
          url: shownUrl,
          timeoutMs: settings.timeoutMs,
        },
      );
    }
    throw new LlmProviderError(
      `LLM provider at ${shownUrl} is unreachable: ${redactedExcerpt((err as Error).message)}`,
      { url: shownUrl },
    );
  }
  if (!response.ok) {
    // Wrong key, URL or model will not fix itself; rate limits and server errors may.
    const permanent = [400, 401, 403, 404, 422].includes(response.status);
    throw new LlmProviderError(
      `LLM provider at ${shownUrl} answered HTTP ${response.status}: ${redactedExcerpt(text)}`,
      { url: shownUrl, status: response.status },
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
      `LLM provider at ${shownUrl} sent something that is not a chat completion ` +
        `(${redactedExcerpt((err as Error).message)}): ${redactedExcerpt(text)}`,
      { url: shownUrl, reply: 'invalid' },
    );
  }
  let proposal: unknown;
  try {
    proposal = JSON.parse(stripCodeFence(content ?? ''));
  } catch {
    throw new LlmProviderError(`LLM answer is not a JSON plan: ${redactedExcerpt(content ?? '')}`, {
      url: shownUrl,
      reply: 'invalid',
    });
  }
  // The same schema the built-in planner's plans pass, account of the idea's numbers included.
  const plan = planSchemaForIdea(idea, { barFrequency }).safeParse(proposal);
  if (!plan.success) {
    throw new LlmProviderError(`LLM plan failed validation: ${redactText(describeIssues(plan.error))}`, {
      url: shownUrl,
      reply: 'invalid',
    });
  }
  return { ...plan.data, provider: llmProviderId(settings) };
}

/** Models sometimes wrap JSON in ```json fences despite response_format. */
function stripCodeFence(content: string): string {
  const m = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(content);
  return m ? m[1]! : content;
}
