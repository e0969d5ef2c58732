import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, AppProps, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { EcwidEventsStack, EcwidEventsStackProps } from '../../lib/ecwid-events-stack';

/** The feature flags (and any other context) of cdk.json, which `cdk synth` applies. */
const CDK_JSON_CONTEXT = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/**
 * An App configured as `cdk synth` configures it (cdk.json context, then `context` as with `-c`),
 * without CDK's built-in CloudFormation validation unless asked: cfn-lint and cdk-nag tests cover it.
 */
export function newApp(props: AppProps = {}): App {
  return new App({ builtinCloudFormationValidation: false, ...props, context: { ...CDK_JSON_CONTEXT, ...props.context } });
}

/**
 * A stack in its own app, without CDK's built-in CloudFormation validation (the cfn-lint and
 * cdk-nag tests cover validation; here only the template matters).
 */
export function buildStack(
  props: EcwidEventsStackProps = {},
  id = 'EcwidEvents-test',
): { app: App; stack: EcwidEventsStack; template: Template } {
  const app = newApp();
  const stack = new EcwidEventsStack(app, id, props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function logicalId(construct: IConstruct): string {
  const cfn = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(cfn);
}

export const getAtt = (construct: IConstruct, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId(construct), attribute] });
export const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });

/** Every statement of every IAM policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): unknown[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId })),
  );
  return policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement as unknown[]);
}

/** `arn:${Partition}:<service>:${Region}:${AccountId}:<rest>` as CloudFormation writes it. */
export const arnJoin = (service: string, rest: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${rest}`],
  ],
});

/** What the Lambda Node.js runtime provides: Node's built-ins (with or without `node:`) and the AWS SDK v3. */
export function isRuntimeProvided(moduleName: string): boolean {
  return moduleName.startsWith('node:') || builtinModules.includes(moduleName) || moduleName.startsWith('@aws-sdk/');
}

/**
 * True when the asset of `bundleFile` ships `moduleName` beside it, as a bundled file of its own
 * (`node_modules/<name>/index.js`, SEPARATELY_BUNDLED_PACKAGES of lib/constructs/relay-function.ts),
 * that itself needs only what the runtime provides.
 */
export function isShippedInAsset(bundleFile: string, moduleName: string): boolean {
  const shipped = path.join(path.dirname(bundleFile), 'node_modules', moduleName, 'index.js');
  if (!fs.existsSync(shipped)) return false;
  const itsRequires = [...fs.readFileSync(shipped, 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
  return itsRequires.every(isRuntimeProvided);
}
