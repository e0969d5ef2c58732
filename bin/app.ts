#!/usr/bin/env node
// CDK entry point: `npx cdk synth -c stage=dev|prod` (see lib/ecwid-events-app.ts).
import { App } from 'aws-cdk-lib';
import { addEcwidEventsStack } from '../lib/ecwid-events-app';

const app = new App();
addEcwidEventsStack(app);
