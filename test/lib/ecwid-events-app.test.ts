import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ENV } from '../../functions/contract';
import { addEcwidEventsStack } from '../../lib/ecwid-events-app';
import { newApp } from './stack-helpers';
import { EcwidEventsStack } from '../../lib/ecwid-events-stack';

/** The app as bin/app.ts builds it, with `-c` context; CDK's own CloudFormation validation off (cfn-lint covers it). */
function freshApp(context: Record<string, string>): { app: App; stack: EcwidEventsStack; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-events-app-'));
  // `keys` is this test's switch, not a setting of the app.
  const { keys: keysSwitch, ...settings } = context;
  const app = newApp({ outdir, context: settings });
  // `-c keys=customer`: this test's stand-in for a deployment that passes customer managed keys.
  let keys = {};
  if (keysSwitch === 'customer') {
    const keyStack = new Stack(app, 'EcwidEventsKeys');
    keys = {
      queueKmsKey: new Key(keyStack, 'QueueKey', { enableKeyRotation: true }),
      ssmKmsKey: new Key(keyStack, 'SsmKey', { enableKeyRotation: true }),
    };
  }
  try {
    return { app, stack: addEcwidEventsStack(app, keys), outdir };
  } catch (error) {
    fs.rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

// Building an app bundles both functions and synthesizes (about a second): tests that only read share one per context.
const apps = new Map<string, ReturnType<typeof freshApp>>();
function appFor(context: Record<string, string>): ReturnType<typeof freshApp> {
  const key = JSON.stringify(context);
  if (!apps.has(key)) apps.set(key, freshApp(context));
  return apps.get(key)!;
}
afterAll(() => {
  for (const { outdir } of apps.values()) fs.rmSync(outdir, { recursive: true, force: true });
});

const ssmPrefixOf = (stack: EcwidEventsStack): string => {
  const fns = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
  // Every function that reads instances (the ledger sweep reads none, so has no prefix).
  const prefixes = new Set(fns.map((fn) => fn.Properties.Environment.Variables[ENV.ssmPrefix]).filter((prefix) => prefix !== undefined));
  expect(prefixes.size).toBe(1);
  return [...prefixes][0] as string;
};

describe('stages side by side', () => {
  test('default stage dev: stack EcwidEvents-dev, parameters under /ecwid-events/dev, throw-away resources', () => {
    const { stack } = appFor({});
    expect(stack.stackName).toBe('EcwidEvents-dev');
    expect(stack.stage).toBe('dev');
    expect(ssmPrefixOf(stack)).toBe('/ecwid-events/dev');
    expect(stack.terminationProtection).toBe(false);
    const queues = Object.values(Template.fromStack(stack).findResources('AWS::SQS::Queue'));
    // main queue, DLQ, the poller's sightings queue
    expect(queues.map((q) => q.DeletionPolicy)).toEqual(['Delete', 'Delete', 'Delete']);
  });

  test('-c stage=prod: stack EcwidEvents-prod, its own prefix, retained data, termination protection', () => {
    const { stack } = appFor({ stage: 'prod' });
    expect(stack.stackName).toBe('EcwidEvents-prod');
    expect(ssmPrefixOf(stack)).toBe('/ecwid-events/prod');
    expect(stack.terminationProtection).toBe(true);
    const queues = Object.values(Template.fromStack(stack).findResources('AWS::SQS::Queue'));
    expect(queues.map((q) => q.DeletionPolicy)).toEqual(['Retain', 'Retain', 'Retain']);
  });

  test("one stage's IAM grants cover none of another stage's parameters", () => {
    const dev = JSON.stringify(Template.fromStack(appFor({ stage: 'dev' }).stack).findResources('AWS::IAM::Policy'));
    const devNext = JSON.stringify(Template.fromStack(appFor({ stage: 'dev-next' }).stack).findResources('AWS::IAM::Policy'));
    expect(dev).toContain(':parameter/ecwid-events/dev/*');
    expect(dev).not.toContain('dev-next');
    // "/ecwid-events/dev/*" does not match "/ecwid-events/dev-next/..." and vice versa.
    expect(devNext).toContain(':parameter/ecwid-events/dev-next/*');
  });

  test('-c alarmEmail subscribes that address to every alarm', () => {
    const { stack } = appFor({ stage: 'prod', alarmEmail: 'ops@example.com' });
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('an invalid -c stage is refused before anything is built', () => {
    expect(() => freshApp({ stage: 'Prod_1' })).toThrow('- stage: "Prod_1" must be lower-case letters, digits and "-"');
  });
});

describe('cdk-nag AwsSolutions', () => {
  // One app per variant that changes the resources nag sees: defaults, and topic + customer keys.
  const variants: Array<[string, Record<string, string>]> = [
    ['dev', {}],
    ['prod with alarm email, customer keys and a provisioned ledger', { stage: 'prod', alarmEmail: 'ops@example.com', keys: 'customer', ledgerBillingMode: 'provisioned' }],
  ];

  test.each(variants)('%s: synth with the AwsSolutions plugin registered passes', (_name, context) => {
    // In tests CDK throws on any unacknowledged validation error, with the report as message;
    // force: a full synthesis with validation even if another test synthesized this app already.
    expect(() => appFor(context).app.synth({ force: true })).not.toThrow();
  });

  test('the registered plugin does fail the synth on an unacknowledged finding', () => {
    const { app, stack, outdir } = freshApp({});
    apps.set('mutated', { app, stack, outdir });
    new Queue(stack, 'UnencryptedQueueWithoutDlq', { encryption: QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  test.each(variants)('%s: zero unacknowledged errors or warnings', (_name, context) => {
    const { app } = appFor(context);
    app.synth();
    const result = new AwsSolutionsChecks().validateScope(app);
    expect(result.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  test.each(variants)('%s: every acknowledgement answers a real finding (no stale or misspelled suppression)', (_name, context) => {
    const { app } = appFor(context);
    app.synth();
    const acknowledged = acknowledgementsIn(app);
    expect(acknowledged.length).toBeGreaterThan(0);

    // The same checks with acknowledgements ignored: everything the rules find.
    const pack = new AwsSolutionsChecks();
    (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
    const findings = pack
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));

    for (const ack of acknowledged) {
      const answered = findings.some((f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect({ ...ack, answered }).toEqual({ ...ack, answered: true });
    }
  });
});

/** Every rule id acknowledged anywhere in the tree, with the construct it was acknowledged on. */
function acknowledgementsIn(root: IConstruct): Array<{ rule: string; path: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .map((id) => ({ rule: id.replace(/^annotation::/i, ''), path: construct.node.path })),
  );
}
