/**
 * The `research_idea` prompt: a ready-made request to research an idea on a symbol, whose `symbol` and `dataset`
 * arguments complete (`completion/complete`) from the data sets sagalane has. Saga ids complete on the
 * `saga://{sagaId}` resource template (saga-resources.ts).
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { z } from 'zod';
import { listDatasets } from '../activities/research/market-data';
import type { ToolContext } from './tool-context';

/** Names of the data sets in `dataDir` that start with `prefix` (case-insensitive). */
export async function completeDatasets(dataDir: string, prefix: string): Promise<string[]> {
  const wanted = prefix.toLowerCase();
  return (await listDatasets(dataDir)).filter((name) => name.toLowerCase().startsWith(wanted));
}

/** Symbols with a sample data set (a data set's name is its symbol), upper case. */
export async function completeSymbols(dataDir: string, prefix: string): Promise<string[]> {
  return [...new Set((await completeDatasets(dataDir, prefix)).map((n) => n.toUpperCase()))];
}

/** The prompt's name, title and description, the same on both protocol revisions. */
export const RESEARCH_PROMPT = {
  name: 'research_idea',
  title: 'Research a trading idea',
  description:
    'Asks the assistant to research a trading idea on a symbol with start_pipeline and report the backtest.',
} as const;

/** The prompt's message for its arguments. */
export function researchPromptMessages(args: { idea: string; symbol: string; dataset?: string }) {
  return {
    messages: [
      {
        role: 'user' as const,
        content: {
          type: 'text' as const,
          text:
            `Research this trading idea on ${args.symbol}${args.dataset ? ` (data set ${args.dataset})` : ''}: ` +
            `${args.idea}. Start it with start_pipeline, follow it until it finishes, then summarise the plan, ` +
            'the fitted parameters and the backtest metrics against buy-and-hold. If it rolls back, say why.',
        },
      },
    ],
  };
}

export const RESEARCH_PROMPT_DESCRIPTIONS = {
  idea: 'The trading idea, e.g. "trend following with moving averages"',
  symbol: 'Market symbol, e.g. DEMO',
  dataset: "Data set name (default: the symbol's own)",
} as const;

export function registerResearchPrompt(ctx: ToolContext, dataDir: string): void {
  ctx.server.registerPrompt(
    RESEARCH_PROMPT.name,
    {
      title: RESEARCH_PROMPT.title,
      description: RESEARCH_PROMPT.description,
      argsSchema: {
        idea: z.string().describe(RESEARCH_PROMPT_DESCRIPTIONS.idea),
        symbol: completable(z.string().describe(RESEARCH_PROMPT_DESCRIPTIONS.symbol), (value) =>
          completeSymbols(dataDir, value ?? ''),
        ),
        dataset: completable(z.string().optional().describe(RESEARCH_PROMPT_DESCRIPTIONS.dataset), (value) =>
          completeDatasets(dataDir, value ?? ''),
        ),
      },
    },
    (args) => researchPromptMessages(args),
  );
}
