#!/usr/bin/env node
// `npm start`: the whole pipeline on this machine (see local/runner.ts and `npm start -- --help`).
import { EXIT, runFromCommandLine } from '../local/main';

runFromCommandLine(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
