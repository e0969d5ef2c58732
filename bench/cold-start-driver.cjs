'use strict';
// Cold start of one Lambda bundle in a fresh `node` (run by bench/bundles.ts; plain CommonJS so
// that no TypeScript loader adds to what is measured): load the bundle, run one invocation,
// print the timings and the handler's answer on one marked line, exit.
//   node bench/cold-start-driver.cjs <bundle/index.js> <event.json>
const { readFileSync } = require('node:fs');

const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const name = process.env.AWS_LAMBDA_FUNCTION_NAME || 'bench';
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: name,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || '128',
  awsRequestId: '00000000-0000-4000-8000-000000000001',
  logGroupName: `/aws/lambda/${name}`,
  logStreamName: 'bench',
  // The deployed deliver timeout (DELIVER_TIMEOUT_SECONDS): deliver starts a record only while
  // its worst case (about 29 s) still fits in the remaining time.
  getRemainingTimeInMillis: () => 120_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const report = (fields) => {
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(fields)}\n`, () => process.exit(fields.ok ? 0 : 1));
};

const loadStarted = performance.now();
let handler;
try {
  handler = require(bundle).handler;
} catch (error) {
  report({ ok: false, stage: 'load', error: String(error && error.stack || error) });
  return;
}
const loaded = performance.now();
Promise.resolve()
  .then(() => handler(event, context))
  .then(
    (result) => {
      const done = performance.now();
      report({ ok: true, result, startupMs: loadStarted, loadMs: loaded - loadStarted, invokeMs: done - loaded });
    },
    (error) => report({ ok: false, stage: 'invoke', error: String(error && error.stack || error) }),
  );
