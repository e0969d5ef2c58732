import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEPLOY_SETTINGS, DeployConfigError, readDeployConfig } from '../../lib/deploy-config';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
};

describe('readDeployConfig', () => {
  it('reads every setting from -c strings', () => {
    const { config, problems } = readDeployConfig(
      {
        stage: 'prod',
        alarmEmail: 'ops@example.com',
        retrySchedule: '1,2,5',
        maxAttempts: '4',
        callbackTimeout: '5s',
        configCache: '2m',
        callbackPorts: '443, 9443',
        webhookMaxAge: '36h',
        ingestReservedConcurrency: '50',
        deliveryMaxConcurrency: '20',
        platformLogLevel: 'info',
        configReconcileEvery: '15m',
        throttlingRateLimit: '12.5',
        throttlingBurstLimit: '30',
        oldestMessageAgeAlarmThreshold: '2h',
        logRetention: '90',
        logLevel: 'debug',
        ecwidApiBaseUrl: 'https://ecwid.example/api',
        removalPolicy: 'destroy',
        terminationProtection: 'true',
        tracing: 'false',
        metricsNamespace: 'Shop/Events',
        polling: 'false',
        pollSchedule: '10m',
        ssmPrefix: '/shops/prod',
        ssmKmsKey: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        queueKmsKey: 'arn:aws:kms:eu-west-1:123456789012:key/abcd',
      },
      noFile,
    );
    expect(problems).toEqual([]);
    expect(config).toEqual({
      stage: 'prod',
      alarmEmail: 'ops@example.com',
      retrySchedule: [1, 2, 5],
      maxAttempts: 4,
      callbackTimeout: Duration.seconds(5),
      configCache: Duration.seconds(120),
      callbackPorts: [443, 9443],
      webhookMaxAge: Duration.seconds(129_600),
      ingestReservedConcurrency: 50,
      deliveryMaxConcurrency: 20,
      platformLogLevel: SystemLogLevel.INFO,
      configReconcileEvery: Duration.seconds(900),
      throttlingRateLimit: 12.5,
      throttlingBurstLimit: 30,
      oldestMessageAgeAlarmThreshold: Duration.seconds(7200),
      logRetention: RetentionDays.THREE_MONTHS,
      logLevel: ApplicationLogLevel.DEBUG,
      ecwidApiBaseUrl: 'https://ecwid.example/api',
      removalPolicy: RemovalPolicy.DESTROY,
      terminationProtection: true,
      tracing: false,
      metricsNamespace: 'Shop/Events',
      polling: false,
      pollSchedule: Duration.seconds(600),
      ssmPrefix: '/shops/prod',
      ssmKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      queueKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd',
    });
  });

  it('reads JSON values as cdk.json holds them', () => {
    const { config, problems } = readDeployConfig({ retrySchedule: [60, 300], tracing: false, maxAttempts: 3, callbackTimeout: 7 }, noFile);
    expect(problems).toEqual([]);
    expect(config).toEqual({ retrySchedule: [60, 300], tracing: false, maxAttempts: 3, callbackTimeout: Duration.seconds(7) });
  });

  it('lists every problem at once, naming the key and the value, never stopping at the first', () => {
    const { problems } = readDeployConfig(
      {
        retrySchedule: '60,abc,-5',
        tracing: 'yes',
        logRetention: '31',
        logLevel: 'loud',
        callbackTimeout: '10 minutes',
        alarmEmail: 'ops',
        ecwidApiBaseUrl: 'http://app.ecwid.com/api',
        ssmKmsKey: 'alias/mine',
        retrySchedul: '1',
      },
      noFile,
    );
    expect(problems.map((p) => p.key).sort()).toEqual(
      ['alarmEmail', 'callbackTimeout', 'ecwidApiBaseUrl', 'logLevel', 'logRetention', 'retrySchedul', 'retrySchedule', 'ssmKmsKey', 'tracing'].sort(),
    );
    expect(problems).toContainEqual({ key: 'retrySchedul', message: 'unknown setting (did you mean retrySchedule?)' });
    expect(problems).toContainEqual({
      key: 'retrySchedule',
      message: '"60,abc,-5" must be comma-separated whole seconds from 0 to 43200; bad: "abc", "-5"',
    });
    expect(problems).toContainEqual({ key: 'tracing', message: '"yes" must be true or false' });
    const error = new DeployConfigError(problems);
    expect(error.message).toMatch(/^invalid deployment configuration \(9 problems\):\n {2}- /);
    for (const problem of problems) expect(error.message).toContain(`- ${problem.key}: ${problem.message}`);
  });

  it('leaves CDK’s own context alone (feature flags, aws:cdk:*, lookups, hyphenated keys)', () => {
    const { problems } = readDeployConfig(
      {
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'aws:cdk:bundling-stacks': [],
        'availability-zones:account=1:region=x': [],
        'acknowledged-issue-numbers': [],
      },
      noFile,
    );
    expect(problems).toEqual([]);
  });

  it('reads a config file; context keys win over it; its problems are listed with the rest', () => {
    const files: Record<string, string> = {
      'prod.json': JSON.stringify({ stage: 'prod', retrySchedule: [10, 20], logLevel: 'warn', tracng: true }),
      'broken.json': '{ stage: prod',
    };
    const read = (path: string) => {
      if (!(path in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return files[path];
    };
    const { config, problems } = readDeployConfig({ configFile: 'prod.json', logLevel: 'error' }, read);
    expect(config).toEqual({ stage: 'prod', retrySchedule: [10, 20], logLevel: ApplicationLogLevel.ERROR });
    expect(problems).toEqual([{ key: 'tracng', message: 'unknown setting in prod.json (did you mean tracing?)' }]);
    expect(readDeployConfig({ configFile: 'broken.json' }, read).problems).toEqual([
      { key: 'configFile', message: 'broken.json is not valid JSON' },
    ]);
    expect(readDeployConfig({ configFile: 'nope.json' }, read).problems).toEqual([
      { key: 'configFile', message: 'nope.json does not exist' },
    ]);
  });

  it('checks the ranges the stack enforces, with the stack\'s own limits', () => {
    const problemOf = (context: Record<string, unknown>) => readDeployConfig(context, noFile).problems.map((p) => p.message);
    expect(problemOf({ retrySchedule: '60,43201' })).toEqual(['"60,43201" must be comma-separated whole seconds from 0 to 43200; bad: "43201"']);
    expect(problemOf({ retrySchedule: Array(30).fill(43200) })[0]).toMatch(/sums to 1296000 s, longer than the queue keeps messages \(1209600 s\)/);
    expect(problemOf({ maxAttempts: '999' })).toEqual(['"999" must be a whole number from 1 to 998']);
    expect(problemOf({ callbackTimeout: '12s' })[0]).toMatch(/less than 12 s \(10 callbacks must fit in the deliver function's 120 s\)/);
    expect(problemOf({ callbackTimeout: '11999ms' })).toEqual([]);
    expect(problemOf({ pollSchedule: '90s' })).toEqual(['"90s" must be whole minutes from 1m to 1d']);
    expect(problemOf({ ledgerRetention: '36h' })).toEqual(['"36h" must be whole days from 1d to 3650d']);
    expect(problemOf({ ssmPrefix: '/aws/mine' })).toEqual(['"/aws/mine" paths under /aws and /ssm are reserved by AWS']);
    expect(problemOf({ stage: 'Prod' })[0]).toMatch(/must be lower-case letters, digits and "-"/);
    expect(problemOf({ deliveryMaxConcurrency: '1' })).toEqual(['"1" must be a whole number from 2 to 1000']);
    expect(problemOf({ callbackPorts: '443,70000' })).toEqual(['"443,70000" must be comma-separated ports from 1 to 65535']);
    expect(problemOf({ webhookMaxAge: '10m' })).toEqual(['"10m" must be from 1 hour to 30 days']);
    expect(problemOf({ breakerFailures: '0' })).toEqual(['"0" must be a whole number from 1 to 1000']);
    expect(problemOf({ breakerMinSpan: '2d' })).toEqual(['"2d" must be whole seconds from 0 to 1 day']);
    expect(problemOf({ breakerProbeInterval: '500ms' })).toEqual(['"500ms" must be whole seconds from 1 s to 1 hour']);
    expect(problemOf({ receiverDisableAfter: '10m' })).toEqual(['"10m" must be whole seconds from 1 hour to 30 days']);
    expect(problemOf({ breakerMinSpan: '0' })).toEqual([]);
  });

  it('the README lists every setting (and no other) in its table', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Deploy from configuration'), readme.indexOf('### Security notes'));
    const listed = [...section.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((match) => [...match[1].matchAll(/`(\w+)`/g)].map((m) => m[1]));
    expect(listed.sort()).toEqual(Object.keys(DEPLOY_SETTINGS).sort());
  });

  it('documents a format for every setting', () => {
    for (const [key, setting] of Object.entries(DEPLOY_SETTINGS)) expect({ key, format: setting.format.length > 0 }).toEqual({ key, format: true });
  });
});
