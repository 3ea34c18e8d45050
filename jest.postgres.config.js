/**
 * The saga suite against a real Temporal server on PostgreSQL (`npm run test:postgres`): global-setup.ts starts
 * src/dev/temporal-postgres.ts instead of the dev server. Needs PostgreSQL (SAGALANE_TEST_POSTGRES_URL, default the
 * local one with trust auth) and builds the Temporal server once (minutes; cached in ~/.cache/sagalane/bin).
 */
const base = require('./jest.config.js');

// Read by test/global-setup.ts, which runs in this process; test workers inherit it.
process.env.SAGALANE_TEST_TEMPORAL = 'postgres';

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['<rootDir>/test/sagas/**/*.test.ts', '<rootDir>/test/postgres/**/*.test.ts'],
};
