#!/usr/bin/env node
// CDK entry point: `npx cdk synth -c stage=dev|prod -c key=value ...` (see lib/ecwid-events-app.ts
// and, for every setting, lib/deploy-config.ts).
import { App } from 'aws-cdk-lib';
import { addEcwidEventsStack } from '../lib/ecwid-events-app';
import { DeployConfigError } from '../lib/deploy-config';

const app = new App();
try {
  addEcwidEventsStack(app);
} catch (error) {
  // A configuration mistake is the deployer's to fix: the list of problems, without a stack trace.
  if (!(error instanceof DeployConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
