import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STAGE, stackNameForStage } from '../functions/contract';
import { DeployConfigError, readDeployConfig } from './deploy-config';
import { EcwidEventsStack, EcwidEventsStackProps } from './ecwid-events-stack';

/** Stages whose data must survive a stack deletion and whose stack cannot be deleted by accident. */
const PROTECTED_STAGES: ReadonlySet<string> = new Set(['prod']);

/**
 * Adds the stage's stack to `app` (what bin/app.ts does, and what the tests exercise). Every stack
 * property comes from the context (`cdk.json`, `-c key=value`, or `-c configFile=path`; see
 * lib/deploy-config.ts), validated as a whole: a bad configuration fails the synth with one
 * message listing every problem. Stage `dev` by default → stack `EcwidEvents-<stage>`, parameters
 * under `/ecwid-events/<stage>`; `prod` keeps its data and is protected unless told otherwise.
 * cdk-nag AwsSolutions checks run as a validation plugin at synth. `overrides` are merged last
 * into the stack props (tests, forks).
 */
export function addEcwidEventsStack(app: App, overrides: Omit<EcwidEventsStackProps, 'stage'> = {}): EcwidEventsStack {
  const { config, problems } = readDeployConfig(app.node.getAllContext());
  if (problems.length > 0) throw new DeployConfigError(problems);

  const { ssmKmsKeyArn, queueKmsKeyArn, ledgerKmsKeyArn, ...settings } = config;
  const stage = settings.stage ?? DEFAULT_STAGE;
  const isProtected = PROTECTED_STAGES.has(stage);
  const stackName = stackNameForStage(stage);

  const props: EcwidEventsStackProps = {
    ...settings,
    stage,
    // Non-protected stages are throw-away: deleting the stack deletes their queues and logs.
    removalPolicy: settings.removalPolicy ?? (isProtected ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY),
    terminationProtection: settings.terminationProtection ?? isProtected,
    ssmKmsKey: ssmKmsKeyArn,
    queueKmsKey: queueKmsKeyArn,
    ledgerKmsKey: ledgerKmsKeyArn,
    ...overrides,
  };
  let stack: EcwidEventsStack;
  try {
    stack = new EcwidEventsStack(app, stackName, props);
  } catch (error) {
    // A rule the settings' own checks do not cover (a combination of settings): same format.
    throw new DeployConfigError([{ key: 'configuration', message: error instanceof Error ? error.message : String(error) }]);
  }

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
