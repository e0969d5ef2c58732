/**
 * The handler modules are factories with no side effects on import; each function's index.ts is
 * its composition root and builds the clients and Powertools, once.
 */
type Built = { sqs: number; ssm: number; dynamodb: number; kms: number; loggers: string[]; metrics: number };

/** Loads `modules` in isolation with the SDK clients and Powertools replaced by counting stand-ins. */
function load(modules: readonly string[], env: Record<string, string> = {}): { built: Built; loaded: Record<string, unknown>[] } {
  const built: Built = { sqs: 0, ssm: 0, dynamodb: 0, kms: 0, loggers: [], metrics: 0 };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const loaded: Record<string, unknown>[] = [];
  try {
    jest.isolateModules(() => {
      for (const [module, client, count] of [
        ['@aws-sdk/client-sqs', 'SQSClient', 'sqs'],
        ['@aws-sdk/client-ssm', 'SSMClient', 'ssm'],
        ['@aws-sdk/client-dynamodb', 'DynamoDBClient', 'dynamodb'],
        ['@aws-sdk/client-kms', 'KMSClient', 'kms'],
      ] as const) {
        jest.doMock(module, () => {
          const actual = jest.requireActual(module);
          // A real client (Powertools checks the class), counted; constructing one makes no call.
          class CountedClient extends actual[client] {
            constructor(...args: unknown[]) {
              super(...args);
              built[count] += 1;
            }
          }
          return { ...actual, [client]: CountedClient };
        });
      }
      jest.doMock('@aws-lambda-powertools/logger', () => ({
        Logger: class {
          constructor(options: { serviceName: string }) {
            built.loggers.push(options.serviceName);
          }
        },
      }));
      jest.doMock('@aws-lambda-powertools/metrics', () => ({
        ...jest.requireActual('@aws-lambda-powertools/metrics'),
        Metrics: class {
          constructor() {
            built.metrics += 1;
          }
        },
      }));
      for (const name of modules) loaded.push(require(name) as Record<string, unknown>);
    });
  } finally {
    process.env = saved;
    jest.dontMock('@aws-sdk/client-sqs');
    jest.dontMock('@aws-sdk/client-ssm');
    jest.dontMock('@aws-sdk/client-dynamodb');
    jest.dontMock('@aws-sdk/client-kms');
    jest.dontMock('@aws-lambda-powertools/logger');
    jest.dontMock('@aws-lambda-powertools/metrics');
  }
  return { built, loaded };
}

const FUNCTIONS = ['ingest', 'deliver', 'poll', 'sweep', 'config-sync'] as const;

test('importing the handler factories builds no client and no Powertools utility', () => {
  const { built, loaded } = load(FUNCTIONS.map((name) => `../functions/${name}/handler`));
  expect(built).toEqual({ sqs: 0, ssm: 0, dynamodb: 0, kms: 0, loggers: [], metrics: 0 });
  for (const module of loaded) expect(module.handler).toBeUndefined();
});

/** What the stack sets and a function cannot start without. */
const REQUIRED_ENV: Record<string, Record<string, string>> = {
  deliver: { LEDGER_TABLE_NAME: 'ledger', QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo' },
};

/** The deployed path: instances from the read model (DynamoDB + KMS), events in the ledger. */
const DEPLOYED_ENV = { INSTANCE_TABLE_NAME: 'instances', LEDGER_TABLE_NAME: 'ledger' };

test.each([
  ['ingest', {}, { sqs: 1, ssm: 1, dynamodb: 0, kms: 0 }],
  // Deliver's happy path sends nothing to SQS (tickets are deleted by the event source mapping):
  // its SQS client (dead letters, retry tickets) is built on first use, so a cold start skips it.
  ['deliver', {}, { sqs: 0, ssm: 1, dynamodb: 1, kms: 0 }],
  ['poll', {}, { sqs: 1, ssm: 1, dynamodb: 0, kms: 0 }],
  // One DynamoDB client serves the ledger and the read model: a second one's first request would
  // repeat the setup (credentials, endpoint, a connection) in every cold start.
  ['ingest', DEPLOYED_ENV, { sqs: 1, ssm: 0, dynamodb: 1, kms: 1 }],
  ['deliver', DEPLOYED_ENV, { sqs: 0, ssm: 0, dynamodb: 1, kms: 1 }],
])('%s/index.ts (env %j) builds its clients and Powertools once, named by the stack\'s service', (name, env, clients) => {
  const { built, loaded } = load([`../functions/${name}/index`], { POWERTOOLS_SERVICE_NAME: 'ecwid-events-test', ...REQUIRED_ENV[name], ...env });
  expect(built).toEqual({ ...clients, loggers: ['ecwid-events-test'], metrics: 1 });
  expect(typeof loaded[0].handler).toBe('function');
});
