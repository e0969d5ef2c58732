#!/usr/bin/env node
// `npm start`: the whole pipeline on this machine (see local/runner.ts and `npm start -- --help`).
import { EXIT, runFromCommandLine } from '../local/main';

// The SDK's multi-line "upgrade Node" notice (emitted when the first client is built) is noise
// in front of the runner's one ready line.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runFromCommandLine(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
