/** @type {import('jest').Config} */
const swc = (syntax) => ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax } }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': swc('typescript'),
    // ESM-only dependencies (cookie 2, via fastify's inject) need compiling to CommonJS for Jest on Node 20.
    '^.+\\.m?js$': swc('ecmascript'),
  },
  transformIgnorePatterns: ['/node_modules/(?!(cookie)/)'],
  testTimeout: 60000,
  // Integration tests start servers and databases; two workers fit the 2-core machine.
  maxWorkers: 2,
};
