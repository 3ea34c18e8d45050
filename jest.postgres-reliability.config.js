/**
 * The Temporal-on-PostgreSQL fault tests (`npm run test:postgres`): each starts a Temporal server of its own on
 * PostgreSQL and restarts it, or restarts PostgreSQL itself. Kept out of `npm run test:reliability`, which needs
 * neither PostgreSQL nor the Temporal server build.
 */
const reliability = require('./jest.reliability.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...reliability,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['<rootDir>/test/reliability/temporal-pg-*.test.ts'],
};
