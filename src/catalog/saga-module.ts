/**
 * The module of a user's sagas, named by SAGALANE_SAGAS (`./dist/sagas.js`): what `sagalane dev`, `sagalane worker`,
 * the CLI and the MCP bridge load to serve the user's sagas without forking sagalane. It exports:
 * - `catalog`: a SagaCatalog (`sagaCatalog([...], { workflowsPath })`), required;
 * - `stepHandlers`: the lane worker's handler per step and compensation (`{ classify: async (input, ctx) => … }`),
 *   required by a lane worker serving the catalog's steps;
 * - `activities`: the same steps as in-worker activities, for a saga worker with SAGALANE_STEP_DISPATCH=inline.
 *
 * Without SAGALANE_SAGAS everything serves the built-in catalog (the research pipeline).
 */
import type { StepHandler } from '../dispatch/activity-completion';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { SagaCatalog } from './catalog';
import { SagaCatalogError } from './errors';

export type ActivityFunctions = Record<string, (...args: never[]) => Promise<unknown>>;

export interface SagaModule {
  catalog: SagaCatalog;
  stepHandlers?: Readonly<Record<string, StepHandler<never>>>;
  activities?: ActivityFunctions;
  /** Where it came from: the module's path, or `built-in`. */
  source: string;
}

/** The built-in catalog: the research pipeline, whose handlers sagalane builds from its own agents. */
export const BUILTIN_SAGA_MODULE: SagaModule = { catalog: BUILTIN_SAGA_CATALOG, source: 'built-in' };

/** Loads the module (CommonJS, as `tsc` builds it) and checks its exports; SagaCatalogError says what is missing. */
export function loadSagaModule(modulePath: string | undefined): SagaModule {
  if (!modulePath) return BUILTIN_SAGA_MODULE;
  let exported: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's module, named at run time
    exported = require(modulePath) as Record<string, unknown>;
  } catch (err) {
    throw new SagaCatalogError(
      `SAGALANE_SAGAS=${modulePath}: cannot load the module (${(err as Error).message}). Build your project ` +
        '(`npm run build`) and point SAGALANE_SAGAS at the built file, e.g. ./dist/sagas.js',
    );
  }
  const catalog = exported.catalog;
  if (!isCatalog(catalog)) {
    throw new SagaCatalogError(
      `SAGALANE_SAGAS=${modulePath} exports no \`catalog\`: export const catalog = sagaCatalog([yourSaga], ` +
        "{ workflowsPath: require.resolve('./workflows') })",
    );
  }
  const problems: string[] = [];
  const stepHandlers = exported.stepHandlers;
  if (stepHandlers !== undefined && !isRecordOfFunctions(stepHandlers))
    problems.push('`stepHandlers` must be an object of functions (activity type → handler)');
  const activities = exported.activities;
  if (activities !== undefined && !isRecordOfFunctions(activities))
    problems.push('`activities` must be an object of functions (activity type → activity)');
  if (problems.length) throw new SagaCatalogError(`SAGALANE_SAGAS=${modulePath}: ${problems.join('; ')}`);
  return {
    catalog,
    ...(stepHandlers ? { stepHandlers: stepHandlers as SagaModule['stepHandlers'] } : {}),
    ...(activities ? { activities: activities as ActivityFunctions } : {}),
    source: modulePath,
  };
}

/** By shape, not `instanceof`: the user's module may hold a SagaCatalog from another copy of sagalane. */
function isCatalog(value: unknown): value is SagaCatalog {
  if (value instanceof SagaCatalog) return true;
  const c = value as Partial<SagaCatalog> | undefined;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.get === 'function' &&
    typeof c.dispatchSteps === 'function' &&
    typeof c.describe === 'function' &&
    Array.isArray(c.types)
  );
}

function isRecordOfFunctions(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'function')
  );
}
