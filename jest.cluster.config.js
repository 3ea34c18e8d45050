/**
 * The lane suite on a Redis Cluster (`npm run test:cluster`): test/cluster/global-setup.ts starts a local cluster of
 * 3 masters and 3 replicas (test/helpers/redis-cluster.ts) and sets REDIS_CLUSTER_NODES, so the same lane tests
 * (through test/helpers/redis.ts) and every process they spawn run on the cluster. No Temporal: these tests use none.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: [
    '<rootDir>/test/cluster/**/*.test.ts',
    '<rootDir>/test/lane/express-lane.test.ts',
    '<rootDir>/test/lane/express-lane-guarantees.test.ts',
    '<rootDir>/test/lane/lane-scripts.test.ts',
    '<rootDir>/test/lane/lane-scripts-property.test.ts',
    '<rootDir>/test/lane/express-lane-processes.test.ts',
    '<rootDir>/test/lane/express-worker-process.test.ts',
    '<rootDir>/test/lane/task-dead-cli.test.ts',
    // Trace context in entries goes through the same scripts (SUBMIT_TRACED, retry, hand-back, reclaim) on a cluster.
    '<rootDir>/test/lane/lane-tracing.test.ts',
  ],
  maxWorkers: 1,
  testTimeout: 120_000,
};
