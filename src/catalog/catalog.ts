/**
 * The saga catalog: the sagas a deployment serves, each declared once with `defineSaga`, and the module that exports
 * their workflows. Front doors look types up here (start, list, describe); the saga worker takes its workflows and its
 * lane-dispatch activities from it; a lane worker takes its step task types from it (./step-types.ts).
 *
 * ```ts
 * export const catalog = sagaCatalog([supportTicket], { workflowsPath: require.resolve('./workflows') });
 * ```
 */
import type { LaneDispatchStep } from '../dispatch/lane-dispatch';
import {
  declaredActivities,
  type DeclaredActivity,
  type SagaStepsDeclaration,
} from '../workflows/saga-steps';
import type { AnySagaDefinition, SagaDefinition } from './define-saga';
import { InvalidSagaInputError, SagaCatalogError, UnknownSagaTypeError } from './errors';

export interface SagaCatalogOptions {
  /**
   * The module exporting every catalog saga's workflow function under its type (what the saga worker bundles).
   * Required for a saga worker; front doors do not need it.
   */
  workflowsPath?: string;
}

/** A catalog activity: a step or compensation, and the saga that declares it. */
export interface CatalogActivity extends DeclaredActivity {
  sagaType: string;
}

/** What `saga types` and the catalog resource show of a saga. */
export interface SagaTypeDescription {
  type: string;
  description: string;
  tool: string;
  steps: { name: string; compensation?: string; lane: string; local: boolean }[];
  approvals: string[];
  inputSchema: Record<string, unknown>;
}

export class SagaCatalog {
  private readonly byType = new Map<string, AnySagaDefinition>();
  private readonly activities = new Map<string, CatalogActivity>();
  readonly workflowsPath?: string;

  constructor(sagas: readonly AnySagaDefinition[], options: SagaCatalogOptions = {}) {
    const problems: string[] = [];
    for (const saga of sagas) {
      if (this.byType.has(saga.type)) {
        problems.push(`the saga type ${saga.type} is declared twice`);
        continue;
      }
      this.byType.set(saga.type, saga);
      for (const activity of declaredActivities(saga.steps)) {
        const earlier = this.activities.get(activity.activityType);
        if (earlier) {
          problems.push(
            `the activity type ${activity.activityType} is declared by ${earlier.sagaType} and by ${saga.type}: ` +
              'a lane step type serves one declaration, so give each saga its own step names',
          );
          continue;
        }
        this.activities.set(activity.activityType, { ...activity, sagaType: saga.type });
      }
    }
    if (problems.length) throw new SagaCatalogError(`invalid saga catalog: ${problems.join('; ')}`);
    this.workflowsPath = options.workflowsPath;
  }

  /** The saga types, in declaration order. */
  get types(): string[] {
    return [...this.byType.keys()];
  }

  get sagas(): SagaDefinition<unknown>[] {
    return [...this.byType.values()] as SagaDefinition<unknown>[];
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  /** The saga of this type; UnknownSagaTypeError naming the known types otherwise. */
  get(type: string): SagaDefinition<unknown> {
    const saga = this.byType.get(type);
    if (!saga) throw new UnknownSagaTypeError(type, this.types);
    return saga as SagaDefinition<unknown>;
  }

  /** The saga whose MCP start tool is `toolName`, if any. */
  byToolName(toolName: string): SagaDefinition<unknown> | undefined {
    return this.sagas.find((s) => s.toolName === toolName);
  }

  /** The input checked against the type's schema (defaults applied); InvalidSagaInputError naming each bad field. */
  parseInput(type: string, input: unknown): unknown {
    const saga = this.get(type);
    const parsed = saga.input.safeParse(input);
    if (parsed.success) return parsed.data;
    throw new InvalidSagaInputError(
      type,
      parsed.error.issues.map((issue) => ({
        field:
          issue.code === 'unrecognized_keys'
            ? issue.keys.join(', ')
            : issue.path.map(String).join('.') || '(input)',
        message: issue.message,
      })),
    );
  }

  /** Every step and compensation of every saga (activity type → where it belongs). */
  get stepActivities(): CatalogActivity[] {
    return [...this.activities.values()];
  }

  /** What a lane-dispatching saga worker registers: every catalog activity, with its lane and compensation flag. */
  dispatchSteps(): Record<string, LaneDispatchStep> {
    return dispatchEntries(this.stepActivities);
  }

  describe(): SagaTypeDescription[] {
    return this.sagas.map((saga) => ({
      type: saga.type,
      description: saga.description,
      tool: saga.toolName,
      steps: Object.entries(saga.steps).map(([name, step]) => ({
        name,
        ...(step.compensation !== undefined ? { compensation: step.compensation } : {}),
        lane: step.lane ?? 'standard',
        local: step.local === true,
      })),
      approvals: [...(saga.approvals ?? [])],
      inputSchema: saga.inputJsonSchema,
    }));
  }

  /** This catalog with another's sagas added (types and step names must stay unique); keeps this one's workflowsPath. */
  with(other: SagaCatalog, options: SagaCatalogOptions = {}): SagaCatalog {
    return new SagaCatalog([...this.sagas, ...other.sagas], {
      workflowsPath: options.workflowsPath ?? this.workflowsPath ?? other.workflowsPath,
    });
  }
}

/** How a lane-dispatching worker dispatches each of these steps and compensations. */
export function dispatchStepsOf(steps: SagaStepsDeclaration): Record<string, LaneDispatchStep> {
  return dispatchEntries(declaredActivities(steps));
}

function dispatchEntries(activities: readonly DeclaredActivity[]): Record<string, LaneDispatchStep> {
  return Object.fromEntries(
    activities.map((a) => [a.activityType, a.compensation ? { compensation: true } : { lane: a.lane }]),
  );
}

/** `new SagaCatalog(sagas, options)`, reading better at a module's top level. */
export function sagaCatalog(
  sagas: readonly AnySagaDefinition[],
  options: SagaCatalogOptions = {},
): SagaCatalog {
  return new SagaCatalog(sagas, options);
}
