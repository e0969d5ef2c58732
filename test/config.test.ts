import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SsmInstanceRepository } from '../functions/adapters/aws/ssm-instance-repository';
import { localMachineResolver } from '../functions/adapters/http/host-resolver';
import { unconfiguredQueue } from '../functions/adapters/unconfigured-queue';
import {
  breakerSettingsFrom,
  callbackUrlPolicyOf,
  configSyncConfigFrom,
  deliverConfigFrom,
  envNumber,
  ingestConfigFrom,
  localCallbackUrlPolicy,
  pollConfigFrom,
  sweepConfigFrom,
  type Environment,
} from '../functions/config';
import { checkCallbackUrl } from '../functions/core/callback/ssrf';
import { DEFAULT_RETRY_POLICY } from '../functions/core/retry-policy';
import { DEFAULT_BREAKER_SETTINGS } from '../functions/core/health';
import { DEFAULTS, ENV, READ_MODEL, SINK_HOST } from '../functions/contract';
import { instanceDocument } from '../testkit/instances';

const ssm = mockClient(SSMClient);

beforeEach(() => {
  ssm.reset();
  jest.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('envNumber', () => {
  test.each([
    ['60', { min: 0 }, 60],
    [' 2.5 ', { min: 0 }, 2.5],
    ['0', { min: 0 }, 0],
    ['4', { min: 1, integer: true }, 4],
  ])('reads %j with %j as %j', (text, rule, expected) => {
    expect(envNumber(text, rule)).toBe(expected);
  });

  test.each([
    [undefined, { min: 0 }],
    ['', { min: 0 }],
    ['   ', { min: 0 }],
    ['ten', { min: 0 }],
    ['Infinity', { min: 0 }],
    ['-1', { min: 0 }],
    ['0', { min: 1 }],
    ['2.5', { min: 1, integer: true }],
  ])('treats %j with %j as unset', (text, rule) => {
    expect(envNumber(text, rule)).toBeUndefined();
  });
});

describe('the instance store a config describes', () => {
  /** What ingest/index.ts and deliver/index.ts build from the config. */
  const readTwice = async (env: Environment): Promise<string[]> => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(instanceDocument()) } });
    const { instances } = ingestConfigFrom(env);
    const store = new SsmInstanceRepository({ prefix: instances.ssmPrefix, maxAgeSeconds: instances.cacheSeconds, client: new SSMClient({ region: 'us-east-1' }) });
    await store.get('shop-a');
    await store.get('shop-a');
    return ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input.Name ?? '');
  };

  test('reads under SSM_PREFIX and keeps a config for CONFIG_CACHE_SECONDS', async () => {
    const names = await readTwice({ [ENV.ssmPrefix]: '/relay/test', [ENV.configCacheSeconds]: '60' });
    expect(names).toEqual(['/relay/test/instances/shop-a']);
  });

  test('CONFIG_CACHE_SECONDS=0 reads every time (no cache)', async () => {
    const names = await readTwice({ [ENV.configCacheSeconds]: '0' });
    expect(names).toEqual(['/ecwid-events/instances/shop-a', '/ecwid-events/instances/shop-a']);
  });

  test('a malformed CONFIG_CACHE_SECONDS falls back to the default cache', async () => {
    const names = await readTwice({ [ENV.configCacheSeconds]: 'soon' });
    expect(names).toHaveLength(1);
  });
});

describe('breaker settings', () => {
  test('a malformed or out-of-range value fails the cold start, naming the variable', () => {
    expect(() => breakerSettingsFrom({ [ENV.breakerFailures]: 'ten' })).toThrow('BREAKER_FAILURES must be a whole number, got "ten"');
    expect(() => breakerSettingsFrom({ [ENV.breakerProbeSeconds]: '0' })).toThrow('breaker probeSeconds must be a whole number of at least 1, got 0');
    expect(breakerSettingsFrom({ [ENV.breakerSpanSeconds]: '' })).toEqual(DEFAULT_BREAKER_SETTINGS);
  });
});

describe('function configs', () => {
  test('an empty environment gives every default', () => {
    expect(ingestConfigFrom({})).toEqual({
      powertools: { serviceName: 'ecwid-events-ingest', metricsNamespace: DEFAULTS.metricsNamespace },
      instances: { ssmPrefix: DEFAULTS.ssmPrefix, cacheSeconds: DEFAULTS.configCacheSeconds },
      queueUrl: undefined,
      sightingsQueueUrl: undefined,
      maxBodyBytes: DEFAULTS.maxBodyBytes,
      webhookMaxAgeSeconds: 48 * 3600,
    });
    expect(ingestConfigFrom({ [ENV.webhookMaxAgeSeconds]: '3600' }).webhookMaxAgeSeconds).toBe(3600);
    expect(deliverConfigFrom({})).toMatchObject({
      ecwidApiBaseUrl: DEFAULTS.ecwidApiBaseUrl,
      callbackTimeoutMs: DEFAULTS.callbackTimeoutMs,
      retryPolicy: DEFAULT_RETRY_POLICY,
      callbackUrlPolicy: { allowHttp: false, allowHosts: [] },
      noticeTopicArn: undefined,
      breaker: DEFAULT_BREAKER_SETTINGS,
    });
    expect(pollConfigFrom({})).toMatchObject({ ssmPrefix: DEFAULTS.ssmPrefix, concurrency: undefined, safetyMarginMs: undefined, readModelTableName: undefined });
  });

  test('the poller lists instances from the read model when the stack sets its table (empty: Parameter Store)', () => {
    expect(pollConfigFrom({ INSTANCE_TABLE_NAME: 'instances-table' }).readModelTableName).toBe('instances-table');
    expect(pollConfigFrom({ INSTANCE_TABLE_NAME: '' }).readModelTableName).toBeUndefined();
  });

  test('reads what the stack sets, empty values as unset', () => {
    const env = {
      POWERTOOLS_SERVICE_NAME: 'ecwid-events-prod',
      POWERTOOLS_METRICS_NAMESPACE: 'Relay',
      [ENV.queueUrl]: 'https://sqs.example/q.fifo',
      [ENV.deadLetterQueueUrl]: '',
      [ENV.ecwidApiBaseUrl]: 'https://ecwid.example/api',
      [ENV.callbackTimeoutMs]: '2500',
      [ENV.retrySchedule]: '1,2',
      [ENV.maxAttempts]: '5',
      [ENV.pollConcurrency]: '3',
      [ENV.pollSafetyMarginMs]: 'soon',
      [ENV.noticeTopicArn]: 'arn:aws:sns:eu-west-1:123456789012:Notices',
      [ENV.breakerFailures]: '4',
      [ENV.breakerSpanSeconds]: '90',
      [ENV.breakerProbeSeconds]: '15',
      [ENV.receiverDisableAfterSeconds]: '172800',
      [ENV.slowReceiverAfterMs]: '1500',
      [ENV.slowReceiverMaxInFlight]: '4',
    };
    expect(deliverConfigFrom(env)).toMatchObject({
      noticeTopicArn: 'arn:aws:sns:eu-west-1:123456789012:Notices',
      breaker: { ...DEFAULT_BREAKER_SETTINGS, failures: 4, spanSeconds: 90, probeSeconds: 15, disableAfterSeconds: 172800, slowAfterMs: 1500, slowMaxInFlight: 4 },
      powertools: { serviceName: 'ecwid-events-prod', metricsNamespace: 'Relay' },
      queueUrl: 'https://sqs.example/q.fifo',
      deadLetterQueueUrl: undefined,
      ecwidApiBaseUrl: 'https://ecwid.example/api',
      callbackTimeoutMs: 2500,
      retryPolicy: { scheduleSeconds: [1, 2], maxAttempts: 5 },
    });
    expect(pollConfigFrom(env)).toMatchObject({ concurrency: 3, safetyMarginMs: undefined, ecwidApiBaseUrl: 'https://ecwid.example/api' });
  });

  test('functions that cannot work without a table or queue fail the cold start, naming the variable', () => {
    expect(() => sweepConfigFrom({ [ENV.queueUrl]: 'https://sqs.example/q.fifo' })).toThrow('environment variable LEDGER_TABLE_NAME is not set');
    expect(() => sweepConfigFrom({ [ENV.ledgerTableName]: 'ledger', [ENV.queueUrl]: '' })).toThrow('environment variable QUEUE_URL is not set');
    expect(sweepConfigFrom({ [ENV.ledgerTableName]: 'ledger', [ENV.queueUrl]: 'q', [ENV.ledgerRetentionDays]: '7' })).toMatchObject({
      ledgerTableName: 'ledger',
      queueUrl: 'q',
      ledgerTiming: { retentionSeconds: 7 * 86_400 },
    });
    expect(() => configSyncConfigFrom({})).toThrow(`environment variable ${READ_MODEL.env.tableName} is not set`);
    expect(configSyncConfigFrom({ [READ_MODEL.env.tableName]: 'instances' })).toMatchObject({
      ssmPrefix: DEFAULTS.ssmPrefix,
      readModelTableName: 'instances',
      readModelKmsKeyId: undefined,
    });
  });

  test('a malformed retry schedule fails the cold start, naming the variable', () => {
    expect(() => deliverConfigFrom({ [ENV.retrySchedule]: '60,soon' })).toThrow(/RETRY_SCHEDULE_SECONDS/);
    expect(() => deliverConfigFrom({ [ENV.maxAttempts]: '999' })).toThrow(/MAX_ATTEMPTS must be an integer from 1 to 998/);
  });
});

describe('callback URL policies', () => {
  test('the development switches, off by default', () => {
    expect(callbackUrlPolicyOf({})).toEqual({ allowHttp: false, allowHosts: [] });
    expect(callbackUrlPolicyOf({ [ENV.allowHttpCallbacks]: 'true', [ENV.callbackAllowHosts]: 'hooks.internal' })).toEqual({
      allowHttp: true,
      allowHosts: ['hooks.internal'],
    });
  });

  test('the local exemption: plain http to this machine and the sink, on top of the switches', async () => {
    const policy = localCallbackUrlPolicy(callbackUrlPolicyOf({ [ENV.callbackAllowHosts]: 'hooks.internal' }));
    expect(policy.allowHttp).toBe(true);
    expect(policy.allowHosts).toEqual(['hooks.internal', '127.0.0.1', 'localhost', '::1', SINK_HOST]);
    for (const url of [`http://${SINK_HOST}/demo`, 'http://localhost:9/x', 'http://127.0.0.1:9/x', 'http://[::1]:9/x']) {
      const check = await checkCallbackUrl(url, policy, localMachineResolver);
      expect({ url, ok: check.ok }).toEqual({ url, ok: true });
    }
    // With the local resolver *.localhost is loopback, and refused unless exempt.
    expect(await checkCallbackUrl('http://other.localhost/x', policy, localMachineResolver)).toMatchObject({ ok: false, reason: expect.stringMatching(/127\.0\.0\.1 \(loopback\)/) });
    // Private networks stay refused locally too.
    expect((await checkCallbackUrl('http://10.0.0.1/x', policy, localMachineResolver)).ok).toBe(false);
  });
});

test('unconfiguredQueue refuses every enqueue, naming the variable', async () => {
  await expect(unconfiguredQueue(ENV.queueUrl).enqueue([])).rejects.toThrow('environment variable QUEUE_URL is not set');
});
