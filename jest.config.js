/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/postgres runs under jest.postgres.config.js (needs PostgreSQL and the Temporal server build).
  // test/cluster runs under jest.cluster.config.js (a local Redis Cluster it starts).
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/reliability/',
    '<rootDir>/test/postgres/',
    '<rootDir>/test/cluster/',
  ],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  // Two cores: two test files at a time against the one shared dev server.
  maxWorkers: 2,
  testTimeout: 60_000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
};
