// Two projects so that `npm run test:unit` (`--selectProjects unit`) never needs moto, and
// moto_server is started only when an integration test is selected (Jest runs a project's
// globalSetup only if at least one of its tests runs). Integration tests are files named
// *.integration.test.ts anywhere under test/, or any test under test/integration/.
// The AWS SDK warns once per process (every test worker) that Node 20 support ends in 2027;
// in test output that is only noise. Workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
};

/** @type {import('jest').Config} */
module.exports = {
  // A global option: Jest ignores testTimeout inside a project.
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.integration\\.test\\.ts$', '<rootDir>/test/integration/'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['**/*.integration.test.ts', '<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/moto-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/moto-global-teardown.ts',
    },
  ],
};
