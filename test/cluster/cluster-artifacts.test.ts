/**
 * The agents' artifact store on the connection sagalane opens from the config (a Cluster under
 * jest.cluster.config.js): a saga's artifacts share the `{sagaId}` hash tag, so writing them (MULTI) and listing
 * them (one pipeline) stay in one slot.
 */
import { ArtifactStore } from '../../src/activities/research/artifact-store';
import { openRedis } from '../../src/lane/redis-connections';
import { deleteKeys, redisUrl, uniquePrefix } from '../helpers/redis';

describe('artifact store on the configured Redis', () => {
  const redis = openRedis(redisUrl(), { maxRetriesPerRequest: 3 });
  const prefix = uniquePrefix('cluster-artifacts');
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('writes, lists, reads and deletes a saga’s artifacts', async () => {
    const store = new ArtifactStore(redis, prefix, 600);
    await store.put('saga-1', 'codegen', 'export default 1;', 'application/javascript', { family: 'sma' });
    await store.put('saga-1', 'ml', '{"fast":10}', 'application/json');
    expect((await store.list('saga-1')).map((a) => [a.step, a.bytes])).toEqual([
      ['codegen', 17],
      ['ml', 11],
    ]);
    expect((await store.get('saga-1', 'codegen'))?.meta).toEqual({ family: 'sma' });
    expect(await store.delete('saga-1', 'ml')).toBe(true);
    expect((await store.list('saga-1')).map((a) => a.step)).toEqual(['codegen']);
  });
});
