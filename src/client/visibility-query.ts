/**
 * The extra visibility filter a caller may add to `SagaClient.list` (and MCP `list_sagas`, `sagalane saga list`): the
 * client wraps it as `(query)` and ANDs it with the workflow-type filter, so it is checked to stay inside those
 * parentheses before it reaches Temporal.
 */
import { RESEARCH_PIPELINE_WORKFLOW, SAGA_STATES } from '../workflows/research/pipeline-definitions';
import { SagaClientOptionsError } from './errors';

/**
 * A `list` query that cannot be composed safely: it is wrapped as `(query)` and ANDed with the workflow-type filter,
 * so a parenthesis that closes the wrapper (`x) OR (WorkflowType!=""`), an unclosed quote or parenthesis, or a
 * comment that hides either would lift that filter.
 */
export class InvalidSagaQueryError extends SagaClientOptionsError {
  constructor(
    readonly query: string,
    readonly reason: string,
  ) {
    super(
      `Invalid saga list query: ${reason}. A query is one Temporal visibility filter such as ` +
        'StartTime > "2026-01-01T00:00:00Z" AND SagaStep = "ml": balanced parentheses, closed quotes, no comments.',
    );
  }
}

/** Refuses a visibility query that would not stay inside its parentheses (see `visibilityQueryProblem`). */
export function checkVisibilityQuery(query: string): void {
  const problem = visibilityQueryProblem(query);
  if (problem) throw new InvalidSagaQueryError(query, problem);
}

/**
 * What keeps a visibility query from staying inside the parentheses `list` wraps it in, or undefined when nothing
 * does: parentheses that close below depth 0 or stay open, a quote never closed, or a comment (`--`, `#`, `/*`), all
 * outside quoted strings. Strings follow Temporal's query tokenizer: `'…'` and `"…"` with backslash escapes,
 * `` `…` `` names without them (a doubled quote inside one closes and reopens it, which leaves the depth as it is).
 */
export function visibilityQueryProblem(query: string): string | undefined {
  let depth = 0;
  let quoteChar: string | undefined;
  let quoteStart = 0;
  for (let i = 0; i < query.length; i++) {
    const c = query[i]!;
    if (quoteChar) {
      if (c === '\\' && quoteChar !== '`') i++;
      else if (c === quoteChar) quoteChar = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quoteChar = c;
      quoteStart = i;
    } else if (c === '(') depth++;
    else if (c === ')') {
      if (--depth < 0) return `the ")" at position ${i + 1} closes a parenthesis the query did not open`;
    } else if (c === '#' || (c === '-' && query[i + 1] === '-') || (c === '/' && query[i + 1] === '*'))
      return `comments are not allowed (position ${i + 1})`;
    else if (c === '\0') return 'it contains a NUL character';
  }
  if (quoteChar) return `the ${quoteChar} opened at position ${quoteStart + 1} is never closed`;
  if (depth > 0) return `${depth} parenthes${depth === 1 ? 'is is' : 'es are'} left open`;
  return undefined;
}

/** The pipeline's states are known; another saga's states are its steps' and groups' names. */
export function checkStateFilter(type: string, state: string): void {
  if (type === RESEARCH_PIPELINE_WORKFLOW) {
    if (!(SAGA_STATES as readonly string[]).includes(state))
      throw new SagaClientOptionsError(
        `state must be one of ${SAGA_STATES.join(', ')} (got ${JSON.stringify(state)})`,
      );
  } else if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(state)) {
    throw new SagaClientOptionsError(
      `state must be a saga state or a step name: 1-100 letters, digits and _ . : - (got ${JSON.stringify(state)})`,
    );
  }
}

/** A string literal of the visibility query language. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
