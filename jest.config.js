/** Tests run as compiled JavaScript (npm test builds first), against real local endpoints. */
module.exports = {
  testMatch: ['<rootDir>/dist/test/**/*.test.js'],
  // npm run package's output has its own package.json of the same name.
  modulePathIgnorePatterns: ['<rootDir>/.deploy/'],
  globalSetup: '<rootDir>/dist/test/support/globalSetup.js',
  globalTeardown: '<rootDir>/dist/test/support/globalTeardown.js',
  testTimeout: 60000,
  maxWorkers: 2,
  injectGlobals: true,
};
