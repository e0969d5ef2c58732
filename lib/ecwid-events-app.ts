import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STAGE, STAGE_PATTERN, stackNameForStage } from '../functions/contract';
import { EcwidEventsStack, EcwidEventsStackProps } from './ecwid-events-stack';

/** Context keys the app reads (`cdk synth -c stage=prod -c alarmEmail=ops@example.com`). */
export const CONTEXT_KEYS = {
  stage: 'stage',
  alarmEmail: 'alarmEmail',
} as const;

/** Stages whose data must survive a stack deletion and whose stack cannot be deleted by accident. */
const PROTECTED_STAGES: ReadonlySet<string> = new Set(['prod']);

/**
 * Adds the stage's stack to `app` (what bin/app.ts does, and what the tests exercise):
 * stage from context (default dev) → stack `EcwidEvents-<stage>`, parameters under
 * `/ecwid-events/<stage>`; cdk-nag AwsSolutions checks run as a validation plugin at synth.
 * `overrides` are merged last into the stack props (tests, forks).
 */
export function addEcwidEventsStack(app: App, overrides: Omit<EcwidEventsStackProps, 'stage'> = {}): EcwidEventsStack {
  const stage = String(app.node.tryGetContext(CONTEXT_KEYS.stage) ?? DEFAULT_STAGE);
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(`-c stage=${stage} is invalid: use lower-case letters, digits and "-", starting with a letter (max 24)`);
  }
  const alarmEmail = app.node.tryGetContext(CONTEXT_KEYS.alarmEmail) as string | undefined;
  const isProtected = PROTECTED_STAGES.has(stage);

  const stack = new EcwidEventsStack(app, stackNameForStage(stage), {
    stage,
    alarmEmail: alarmEmail || undefined,
    // Non-protected stages are throw-away: deleting the stack deletes their queues and logs.
    removalPolicy: isProtected ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    terminationProtection: isProtected,
    ...overrides,
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
