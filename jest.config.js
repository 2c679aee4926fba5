/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // fauxqs (the SQS emulator) is published as an ES module only: map it to its entry file and
  // let swc transpile it, like the project's own code.
  moduleNameMapper: { '^fauxqs$': '<rootDir>/node_modules/fauxqs/dist/app.js' },
  transformIgnorePatterns: ['/node_modules/(?!fauxqs/)'],
  // The AWS SDK's NodeVersionSupportWarning (Node < 22) off, as in the local commands: that one warning, no other.
  setupFiles: ['<rootDir>/scripts/quiet-node-warnings.ts'],
  testTimeout: 30000,
  // CDK synth and the e2e tests are CPU-heavy; two workers match the two cores of CI.
  maxWorkers: 2,
};
