/** `sagalane task submit|get`: single tasks on the express lane. Needs Redis only. */
import { Command, Option } from 'commander';
import { TaskNotFoundError } from '../lane/errors';
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
      .requiredOption('--type <type>', 'task type, e.g. echo, hash, reasoning, backtest, research')
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
  return task;
}
