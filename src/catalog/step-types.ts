/**
 * The lane worker's side of a catalog: one `step.<activity>` task type per step and compensation of its sagas, running
 * the handler the user passes for it, on the lane the step declares. A step without a handler, or a handler for no
 * step, stops the worker at start-up with the names: a lane worker that silently lacks a step would leave sagas
 * waiting on the lane until their step timed out.
 */
import {
  defineActivityStepType,
  type ActivityStepTypeOptions,
  type StepHandler,
} from '../dispatch/activity-completion';
import type { TaskType } from '../lane/task-types';
import type { SagaCatalog } from './catalog';
import { SagaCatalogError } from './errors';

export interface CatalogStepTypesOptions extends ActivityStepTypeOptions {
  /** Serve only these saga types' steps. @defaultValue every saga in the catalog */
  sagas?: readonly string[];
}

/** Step task types for the catalog's sagas, with `handlers` keyed by activity type (steps and compensations). */
export function catalogStepTypes(
  catalog: SagaCatalog,
  handlers: Readonly<Record<string, StepHandler<never>>>,
  options: CatalogStepTypesOptions,
): TaskType[] {
  const served = new Set(options.sagas ?? catalog.types);
  for (const type of served) catalog.get(type);
  const activities = catalog.stepActivities.filter((a) => served.has(a.sagaType));
  const missing = activities.filter((a) => typeof handlers[a.activityType] !== 'function');
  const known = new Set(catalog.stepActivities.map((a) => a.activityType));
  const stray = Object.keys(handlers).filter((name) => !known.has(name));
  const problems = [
    ...missing.map(
      (a) =>
        `no handler for ${a.compensation ? `the compensation ${a.activityType} of step ${a.step}` : `step ${a.activityType}`} ` +
        `of saga ${a.sagaType}`,
    ),
    ...stray.map((name) => `a handler for ${name}, which no catalog saga declares`),
  ];
  if (problems.length) throw new SagaCatalogError(`lane worker step handlers: ${problems.join('; ')}`);
  const { sagas: _sagas, ...stepOptions } = options;
  return activities.map(
    (a) =>
      defineActivityStepType(a.activityType, handlers[a.activityType]!, {
        ...stepOptions,
        defaults: { lane: a.lane, ...stepOptions.defaults },
      }) as TaskType,
  );
}
