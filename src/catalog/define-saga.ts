/**
 * `defineSaga`: one declaration per saga, from which every front door and worker serves it. It holds the saga's type
 * (its workflow's name), a description, the zod schema of its input (and of its result, when known), its steps (the
 * zod-free `sagaSteps` object its workflow calls them through), its approval gates, and how a start names and ranks
 * the saga. The workflow function itself lives in the module the catalog's `workflowsPath` names (bundled for
 * Temporal's deterministic sandbox, so it never imports this zod-holding file).
 */
import { z } from 'zod';
import type { SagaPriority } from '../dispatch/lane-step';
import { stepsProblems, type SagaStepsDeclaration } from '../workflows/saga-steps';
import { SagaCatalogError } from './errors';

export interface SagaDeclaration<I = unknown, O = unknown> {
  /** The workflow type (the name its workflow function is exported under), e.g. `supportTicket`. */
  type: string;
  /** One or two sentences: shown by `saga types`, the MCP tool and the catalog resource. */
  description: string;
  /** The input a start takes (the workflow's first argument), checked by every front door before the start. */
  input: z.ZodType<I>;
  /** The result's schema, when it is known (documentation and the MCP tool's output schema). */
  output?: z.ZodType<O>;
  /** The steps, as given to the workflow (`sagaSteps({...})`). */
  steps: SagaStepsDeclaration;
  /** Names of the saga's approval gates (`saga.approval(name)`). @defaultValue none */
  approvals?: readonly string[];
  /** Workflow id of a new saga. @defaultValue `<type in kebab case>-<uuid>` */
  workflowId?(input: I, uuid: string): string;
  /** The saga's priority, from its input: express sagas' steps go on the express lane. @defaultValue 'standard' */
  priority?(input: I): SagaPriority | undefined;
  /** Memo fields stored on the workflow (shown by `saga list`), from its input. @defaultValue none */
  memo?(input: I): Record<string, string>;
  /**
   * Whether a saga started with this input stops at an approval gate: an MCP 2026-07-28 plain call then answers
   * `input_required` with the approval once the saga is there. @defaultValue never
   */
  stopsForApproval?(input: I): boolean;
  /** The MCP tool that starts it. @defaultValue `start_<type in snake case>` */
  tool?: string;
}

export interface SagaDefinition<I = unknown, O = unknown> extends Readonly<SagaDeclaration<I, O>> {
  /** The MCP tool that starts it: `start_<type in snake case>`. */
  readonly toolName: string;
  /** Its input as JSON Schema 2020-12 (what a client sends). */
  readonly inputJsonSchema: Record<string, unknown>;
}

/** A definition of any input and result type, as a catalog holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the catalog holds sagas of different inputs
export type AnySagaDefinition = SagaDefinition<any, any>;

const SAGA_TYPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Checks the declaration (type name, description, steps, approvals); throws SagaCatalogError naming each problem. */
export function defineSaga<I, O = unknown>(declaration: SagaDeclaration<I, O>): SagaDefinition<I, O> {
  const d = declaration;
  const problems: string[] = [];
  if (typeof d.type !== 'string' || !SAGA_TYPE.test(d.type))
    problems.push(
      `type ${JSON.stringify(d.type)}: a workflow type is a letter then up to 63 letters, digits or _`,
    );
  if (d.tool !== undefined && !/^[a-z][a-z0-9_]{0,63}$/.test(d.tool))
    problems.push(`tool ${JSON.stringify(d.tool)}: an MCP tool name in snake case`);
  if (typeof d.description !== 'string' || !d.description.trim())
    problems.push('description: say in a sentence what the saga does');
  if (!isZodSchema(d.input)) problems.push('input: a zod schema of the saga input');
  if (d.output !== undefined && !isZodSchema(d.output)) problems.push('output: a zod schema of the result');
  if (typeof d.steps !== 'object' || d.steps === null) problems.push('steps: the sagaSteps({...}) object');
  else problems.push(...stepsProblems(d.steps));
  const approvals = d.approvals ?? [];
  if (new Set(approvals).size !== approvals.length) problems.push('approvals: a gate is named twice');
  for (const gate of approvals)
    if (d.steps && gate in d.steps) problems.push(`approval ${gate}: a step has the same name`);
  let inputJsonSchema: Record<string, unknown> = {};
  if (isZodSchema(d.input)) {
    try {
      inputJsonSchema = z.toJSONSchema(d.input, {
        io: 'input',
        unrepresentable: 'throw',
        target: 'draft-2020-12',
      }) as Record<string, unknown>;
    } catch (err) {
      problems.push(`input: cannot be described as JSON Schema (${(err as Error).message})`);
    }
  }
  if (problems.length) {
    const name = typeof d.type === 'string' && d.type ? d.type : '(unnamed)';
    throw new SagaCatalogError(`saga ${name}: ${problems.join('; ')}`);
  }
  return Object.freeze({ ...d, toolName: d.tool ?? `start_${snakeCase(d.type)}`, inputJsonSchema });
}

/**
 * A zod 4 schema, by shape rather than `instanceof`: the user's project may hold its own copy of zod (npm dedupes it
 * with sagalane's only when the versions allow).
 */
function isZodSchema(value: unknown): value is z.ZodType {
  const v = value as { safeParse?: unknown; _zod?: unknown } | null | undefined;
  return typeof v?.safeParse === 'function' && typeof v._zod === 'object' && v._zod !== null;
}

/** `supportTicket` → `support_ticket`, `researchPipeline` → `research_pipeline`. */
export function snakeCase(type: string): string {
  return type
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** `supportTicket` → `support-ticket`: the default workflow id's prefix. */
export function kebabCase(type: string): string {
  return snakeCase(type).replace(/_/g, '-');
}
