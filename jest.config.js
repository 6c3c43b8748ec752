/** @type {import('jest').Config} */
// ts-jest in transpile-only mode (isolatedModules): fast; `npm run lint` runs the full type check.
const tsJest = ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node10', isolatedModules: true, esModuleInterop: true, target: 'ES2022', sourceMap: true } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault-injection suite runs on its own (`npm run test:faults`): it mounts tmpfs and takes minutes.
  testPathIgnorePatterns: process.env.BERTH_FAULTS ? [] : ['/test/faults/'],
  transform: {
    '^.+\\.ts$': tsJest,
  },
  // cookie@2 is ESM-only (used by fastify's inject); see the shim for why.
  moduleNameMapper: { '^cookie$': '<rootDir>/test/support/cookie-shim.js' },
  testTimeout: 60000,
  // Integration tests start servers and databases; two workers fit the 2-core machine.
  maxWorkers: 2,
};
