/**
 * `sagalane lane stats`: the express lane's backlog per type and lane: the task types, and the step types of every
 * catalog saga (SAGALANE_SAGAS's, or the research pipeline's). Needs Redis only.
 */
import { Command } from 'commander';
import { loadSagaModule } from '../catalog/saga-module';
import { loadConfigOrExit } from '../config';
import { stepTaskType } from '../dispatch/activity-step-contract';
import { DEFAULT_TASK_SCHEMAS } from '../runtime/task-schemas';
import { withExpress, withJson } from './context';
import { formatLaneStats, print, type OutputOptions } from './output';

export function laneCommand(): Command {
  const lane = new Command('lane').description('The express lane');
  withJson(
    lane
      .command('stats')
      .description(
        'Backlog, in flight, consumers, retries, dead letters and latency-objective attainment per type and lane (saga steps too)',
      ),
  ).action((opts: OutputOptions) => {
    const catalog = loadSagaModule(loadConfigOrExit().sagasModule).catalog;
    const types = [
      ...DEFAULT_TASK_SCHEMAS.map((t) => t.name),
      ...Object.keys(catalog.dispatchSteps()).map(stepTaskType),
    ];
    return withExpress(async (express) => {
      const stats = await express.stats(types);
      print(opts, stats, () => formatLaneStats(stats));
    });
  });
  return lane;
}
