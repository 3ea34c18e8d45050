/**
 * The priority settings from the environment: SAGALANE_PRIORITY_KEY_EXPRESS / _STANDARD reach every front door's
 * saga client (the CLI's and MCP's, through openLazyFrontDoor), so sagas start at those Temporal priority keys;
 * SAGALANE_MAX_WAIT_MS is the express workers' aging bound. Bad values are refused with the variable named.
 */
import { openLazyFrontDoor } from '../../src/client/front-door';
import { ConfigError, loadConfig } from '../../src/config';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';

describe('priority settings', () => {
  let ctx: TemporalTestContext;
  beforeAll(async () => {
    ctx = await temporalTestContext();
  });
  afterAll(async () => {
    await ctx?.closeAll();
  });

  it('start sagas at the configured Temporal priority keys through the front door', async () => {
    // No worker polls this queue: the sagas only need to exist to be described.
    const taskQueue = uniqueTaskQueue('priority-config');
    const config = loadConfig({
      TEMPORAL_ADDRESS: temporalAddress(),
      SAGALANE_TASK_QUEUE: taskQueue,
      SAGALANE_PRIORITY_KEY_EXPRESS: '2',
      SAGALANE_PRIORITY_KEY_STANDARD: '4',
    });
    const door = openLazyFrontDoor(config);
    const ids: string[] = [];
    try {
      const sagas = await door.sagas();
      for (const priority of ['express', 'standard'] as const) {
        const { sagaId } = await sagas.startPipeline({ idea: 'priority keys', symbol: 'DEMO', priority });
        ids.push(sagaId);
      }
      const keys = await Promise.all(
        ids.map(async (id) => (await ctx.client.workflow.getHandle(id).describe()).priority?.priorityKey),
      );
      expect(keys).toEqual([2, 4]);
    } finally {
      await Promise.all(
        ids.map((id) =>
          ctx.client.workflow
            .getHandle(id)
            .terminate('test over')
            .catch(() => undefined),
        ),
      );
      await door.close();
    }
  });

  it('defaults to 1 for express and none for standard; refuses keys outside 1..5 and a bad aging bound', () => {
    expect(loadConfig({}).priorityKeys).toEqual({ express: 1 });
    expect(loadConfig({}).maxWaitMs).toBe(0);
    expect(loadConfig({ SAGALANE_MAX_WAIT_MS: '2500' }).maxWaitMs).toBe(2500);
    for (const [variable, value] of [
      ['SAGALANE_PRIORITY_KEY_EXPRESS', '0'],
      ['SAGALANE_PRIORITY_KEY_STANDARD', '6'],
      ['SAGALANE_MAX_WAIT_MS', '-1'],
    ]) {
      let error: unknown;
      try {
        loadConfig({ [variable!]: value });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual([variable]);
    }
  });
});
