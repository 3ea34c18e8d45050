/** The fault-injection suite (`npm run test:reliability`): real processes killed and restarted. */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // The Temporal-on-PostgreSQL ones run under jest.postgres-reliability.config.js.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/temporal-pg-'],
  testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 300_000,
};
