/**
 * The whole system as a user runs it: `sagalane pipeline start --priority express --wait` (a spawned CLI process)
 * against a saga worker in its default lane-dispatch mode and an express worker serving the step types with the
 * real agents. The output names the lane task of every step, and `sagalane task get` shows that task.
 */
import { runSagalane, startFrontStack, type FrontStack } from '../front/front-kit';

describe('sagalane CLI with lane-dispatched steps (real agents)', () => {
  let stack: FrontStack;

  beforeAll(async () => {
    stack = await startFrontStack('dispatch-cli');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('pipeline start --priority express --wait shows the express lane task of every step; task get shows it', async () => {
    const run = await runSagalane(
      stack.env,
      [
        'pipeline',
        'start',
        '--idea',
        'trend following with moving averages',
        '--symbol',
        'DEMO',
        '--priority',
        'express',
        '--wait',
      ],
      120_000,
    );
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const stepLines = run.stdout.split('\n').filter((l) => l.trim().startsWith('step '));
    expect(stepLines).toHaveLength(4);
    const taskIds = stepLines.map((line) => {
      const match = /express lane task (step\.[A-Za-z]+:[0-9a-f-]+)/.exec(line);
      expect(match).not.toBeNull();
      return match![1]!;
    });
    expect(taskIds.map((id) => id.split(':')[0])).toEqual([
      'step.reasoning',
      'step.codegen',
      'step.ml',
      'step.backtest',
    ]);
    const got = await runSagalane(stack.env, ['task', 'get', taskIds[2]!, '--json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({
      taskId: taskIds[2],
      type: 'step.ml',
      lane: 'express',
      status: 'succeeded',
      result: { activity: 'completed' },
    });
  }, 180_000);

  it('refuses a bad --priority before connecting, naming the field', async () => {
    const run = await runSagalane(stack.env, [
      'pipeline',
      'start',
      '--idea',
      'x y z',
      '--symbol',
      'DEMO',
      '--priority',
      'urgent',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('priority');
  });
});
