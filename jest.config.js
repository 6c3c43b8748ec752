/** @type {import('jest').Config} */
// ts-jest in transpile-only mode (isolatedModules): fast; `npm run lint` runs the full type check.
const tsJest = [
  'ts-jest',
  { tsconfig: { module: 'commonjs', moduleResolution: 'node10', isolatedModules: true, esModuleInterop: true, target: 'ES2022', sourceMap: true } },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault-injection suite (test/faults) is part of `npm test` (about a minute on 2 cores);
  // `npm run test:faults` runs it alone. It needs root for the tmpfs and the private PostgreSQL
  // cluster: CI runs as root; elsewhere those two faults say why they were not tested.
  transform: {
    '^.+\\.ts$': tsJest,
  },
  // cookie@2 is ESM-only (used by fastify's inject); see the shim for why.
  moduleNameMapper: { '^cookie$': '<rootDir>/test/support/cookie-shim.js' },
  testTimeout: 60000,
  // Suites needing a tool that is not installed (dig, nginx, …) skip and are listed in one notice
  // printed by the global teardown, after Jest's summary (test/support/tools.ts). Tests never
  // write tracked files: docs/operations.md is regenerated only by `npm run docs:operations`.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Integration tests start servers and databases; two workers fit the 2-core machine.
  maxWorkers: 2,
};
