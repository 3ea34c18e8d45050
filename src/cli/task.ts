/** `sagalane task submit|get|dead`: single tasks on the express lane and its dead letters. Needs Redis only. */
import { Command, Option } from 'commander';
import { TaskNotFoundError } from '../lane/errors';
import type { DeadLetter } from '../lane/express-client';
import { LANES, type Lane } from '../lane/keys';
import { CommandOutcomeError, parseJson, parsePositiveInt, withExpress, withJson } from './context';
import { formatTask, print, type OutputOptions } from './output';

interface SubmitOptions extends OutputOptions {
  type: string;
  lane?: Lane;
  payload: unknown;
  idempotencyKey?: string;
  wait?: boolean;
  waitMs?: number;
}

export function taskCommand(): Command {
  const task = new Command('task').description('Express-lane tasks');
  withJson(
    task
      .command('submit')
      .description('Submit a task to the express lane')
      .requiredOption(
        '--type <type>',
        'task type, e.g. echo, hash, reasoning, backtest (a research run is a saga: `sagalane pipeline start`)',
      )
      .addOption(new Option('--lane <lane>', 'lane (default: the type’s)').choices([...LANES]))
      .requiredOption('--payload <json>', 'the task input as JSON', parseJson)
      .option('--idempotency-key <key>', 'repeat-safe submit: the same key returns the first task')
      .option('--wait', 'wait for the result')
      .option('--wait-ms <ms>', 'how long --wait waits (default 60000)', parsePositiveInt),
  ).action((opts: SubmitOptions) =>
    withExpress(async (express) => {
      const { taskId } = await express.submit({
        type: opts.type,
        lane: opts.lane,
        payload: opts.payload,
        idempotencyKey: opts.idempotencyKey,
      });
      if (!opts.wait) {
        const info = await express.get(taskId);
        print(opts, info ?? { taskId }, () => `Submitted task ${taskId}`);
        return;
      }
      if (!opts.json) process.stderr.write(`Submitted task ${taskId}; waiting...\n`);
      const info = await express.result(taskId, { waitMs: opts.waitMs ?? 60_000 });
      print(opts, info, () => formatTask(info));
      if (info.status !== 'succeeded')
        throw new CommandOutcomeError(`task ${taskId} is ${info.status}: ${info.error}`);
    }),
  );
  withJson(task.command('get <taskId>').description("A task's status, attempts, result or error")).action(
    (taskId: string, opts: OutputOptions) =>
      withExpress(async (express) => {
        const info = await express.get(taskId);
        if (!info) throw new TaskNotFoundError(taskId);
        print(opts, info, () => formatTask(info));
      }),
  );
  task.addCommand(deadCommand());
  return task;
}

interface DeadOptions extends OutputOptions {
  type: string;
  lane?: Lane;
  id?: string[];
  count?: number;
}

/** `sagalane task dead list|retry|purge`: the dead-letter streams (capped; see docs/EXPRESS-LANE.md). */
function deadCommand(): Command {
  const dead = new Command('dead').description('Dead letters: tasks that ended dead, with their reason');
  const scoped = (cmd: Command) =>
    withJson(
      cmd
        .requiredOption('--type <type>', 'task type')
        .addOption(new Option('--lane <lane>', 'one lane (default: both)').choices([...LANES])),
    );
  const lanesOf = (opts: DeadOptions): Lane[] => (opts.lane ? [opts.lane] : [...LANES]);
  scoped(dead.command('list').description('List dead letters, oldest first'))
    .option('--count <n>', 'at most this many per lane (default 100)', parsePositiveInt)
    .action((opts: DeadOptions) =>
      withExpress(async (express) => {
        const letters: (DeadLetter & { lane: Lane })[] = [];
        for (const lane of lanesOf(opts))
          for (const l of await express.deadLetters(opts.type, lane, { count: opts.count ?? 100 }))
            letters.push({ lane, ...l });
        print(opts, letters, () =>
          letters.length
            ? letters
                .map((l) => `${l.id}  ${l.lane}  ${l.taskId || '(no task id)'}  ${l.reason}: ${l.error}`)
                .join('\n')
            : `No dead letters for ${opts.type}`,
        );
      }),
    );
  scoped(dead.command('retry').description('Run dead letters again as the same tasks (attempt 1)'))
    .option('--id <id...>', 'dead-letter ids (default: all, up to 1000 per lane)')
    .action((opts: DeadOptions) =>
      withExpress(async (express) => {
        const retried: string[] = [];
        const missing: string[] = [];
        for (const lane of lanesOf(opts)) {
          const r = await express.retryDead(opts.type, lane, opts.id);
          retried.push(...r.retried);
          missing.push(...r.missing);
        }
        print(opts, { retried, missing }, () =>
          [
            `Re-enqueued ${retried.length} task(s)`,
            ...retried,
            ...(missing.length ? [`Not found / no task id: ${missing.join(', ')}`] : []),
          ].join('\n'),
        );
      }),
    );
  scoped(dead.command('purge').description('Delete dead letters'))
    .option('--id <id...>', 'dead-letter ids (default: every dead letter of the lane)')
    .action((opts: DeadOptions) =>
      withExpress(async (express) => {
        let deleted = 0;
        for (const lane of lanesOf(opts)) deleted += await express.purgeDead(opts.type, lane, opts.id);
        print(opts, { deleted }, () => `Deleted ${deleted} dead letter(s)`);
      }),
    );
  return dead;
}
