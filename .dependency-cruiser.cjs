// Boundary lint (issue 13), run by `npm test` as `npm run lint:boundaries`.
// Known violations that other work is still removing are listed in
// .dependency-cruiser-known-violations.json (`npm run lint:boundaries:baseline` rewrites it);
// anything new fails. The aim is an empty baseline.

// Node modules that do I/O. dependency-cruiser reports core modules without the `node:` prefix.
// Pure helpers (crypto, net's isIP, url, util) stay allowed in the core.
const IO_CORE_MODULES = '^(node:)?(http|https|http2|tls|dns|dns/promises|fs|fs/promises|child_process|dgram)$';
const AWS_AND_CDK = '(^|node_modules/)(@aws-sdk/|@aws-lambda-powertools/|aws-cdk-lib|aws-xray-sdk|@smithy/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-no-io',
      severity: 'error',
      comment: 'functions/core is pure: no network, DNS or file I/O modules (ports and adapters do I/O).',
      from: { path: '^functions/core/' },
      to: { dependencyTypes: ['core'], path: IO_CORE_MODULES },
    },
    {
      name: 'core-no-aws',
      severity: 'error',
      comment: 'functions/core imports no AWS SDK, Powertools, X-Ray or CDK (they belong in functions/adapters/aws).',
      from: { path: '^functions/core/' },
      to: { path: AWS_AND_CDK },
    },
    {
      name: 'core-no-adapters',
      severity: 'error',
      comment: 'functions/core depends on ports it owns, never on functions/adapters.',
      from: { path: '^functions/core/' },
      to: { path: '^functions/adapters/' },
    },
    {
      name: 'lib-only-contract',
      severity: 'error',
      comment:
        'lib/ (CDK) may import from functions/ only the deployment contract and the retry policy, so synth loads no runtime code.',
      from: { path: '^lib/' },
      to: { path: '^functions/', pathNot: '^functions/(contract|core/retry-policy)\\.ts$' },
    },
    {
      name: 'cli-not-local',
      severity: 'error',
      comment: 'cli/ does not import the local runner; shared code lives in functions/.',
      from: { path: '^cli/' },
      to: { path: '^local/' },
    },
    {
      name: 'runtime-not-outer',
      severity: 'error',
      comment:
        'functions/ (the Lambda code) and lib/ (CDK) never import the CLI, the local runner, tests, bench or the test kit.',
      from: { path: '^(functions|lib)/' },
      to: { path: '^(cli|local|testkit|test|bench|bin)/' },
    },
    {
      name: 'testkit-not-tests',
      severity: 'error',
      comment: 'testkit/ is shared by test/, bench/ and local/; it imports none of them (one direction only).',
      from: { path: '^testkit/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles anywhere.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve would hide a dependency from these rules.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count too: a type from an adapter in the core is still a dependency on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
