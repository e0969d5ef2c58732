/**
 * Entry point of the operator CLI (`npx ecwid-events`, `npm run cli --`). Thin: wires the
 * process to cli/main.ts, which does everything and resolves to the exit code.
 */
import { main } from '../cli/main';

// The SDK's multi-line "upgrade Node" notice (emitted when the first client is built) would
// break the CLI's one-line error contract.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
};

void main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  readStdin,
}).then((code) => {
  process.exitCode = code;
});
