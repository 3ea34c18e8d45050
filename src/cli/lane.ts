/** `sagalane lane stats`: the express lane's backlog per type and lane. Needs Redis only. */
import { Command } from 'commander';
import { withExpress, withJson } from './context';
import { formatLaneStats, print, type OutputOptions } from './output';

export function laneCommand(): Command {
  const lane = new Command('lane').description('The express lane');
  withJson(
    lane
      .command('stats')
      .description('Backlog, in flight, consumers, retries and dead letters per type and lane'),
  ).action((opts: OutputOptions) =>
    withExpress(async (express) => {
      const stats = await express.stats();
      print(opts, stats, () => formatLaneStats(stats));
    }),
  );
  return lane;
}
