/**
 * SAGALANE_ARTIFACT_KEY reaches the agents: the artifacts an agent context built from the config writes are signed
 * with the configured key, so any process holding the same key verifies them and one with only its own key does not.
 */
import type Redis from 'ioredis';
import { agentDepsFromConfig, createAgentContext } from '../../src/activities/research/agent-context';
import { ArtifactStore, artifactSigningKey } from '../../src/activities/research/artifact-store';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

const KEY = 'a-deployment-wide-artifact-key-of-40-chars';

describe('the artifact signing key from the config', () => {
  let redis: Redis;
  const keyPrefix = uniquePrefix('artifact-key');
  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('signs what the agents write, verifiable by any process with the same key', async () => {
    const config = loadConfig({ SAGALANE_ARTIFACT_KEY: KEY, SAGALANE_KEY_PREFIX: keyPrefix });
    const deps = agentDepsFromConfig(config, redis, createLogger('silent'));
    expect(deps.artifactKey).toBe(KEY);
    const { store } = createAgentContext(deps);
    await store.put('saga-1', 'codegen', 'function positions() { return []; }', 'application/javascript');

    const sameKey = new ArtifactStore(redis, keyPrefix, undefined, artifactSigningKey(KEY));
    expect((await sameKey.get('saga-1', 'codegen'))?.integrity).toBe('verified');
    const otherKey = new ArtifactStore(redis, keyPrefix, undefined, artifactSigningKey(`${KEY}-other`));
    expect((await otherKey.get('saga-1', 'codegen'))?.integrity).toBe('tampered');
    // A process without the key (its own random one) cannot check it.
    expect((await new ArtifactStore(redis, keyPrefix).get('saga-1', 'codegen'))?.integrity).toBe(
      'unverifiable',
    );
  });

  it('without SAGALANE_ARTIFACT_KEY the agents sign with the process key', async () => {
    const deps = agentDepsFromConfig(
      loadConfig({ SAGALANE_KEY_PREFIX: keyPrefix }),
      redis,
      createLogger('silent'),
    );
    expect(deps.artifactKey).toBeUndefined();
    await createAgentContext(deps).store.put('saga-2', 'ml', '{}', 'application/json');
    expect((await new ArtifactStore(redis, keyPrefix).get('saga-2', 'ml'))?.integrity).toBe('verified');
  });
});
