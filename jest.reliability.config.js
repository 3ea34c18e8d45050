/** The fault-injection suite (`npm run test:reliability`): real processes killed and restarted. */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 300_000,
};
