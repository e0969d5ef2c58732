/** Runs the CLI in-process with captured output (the same main() the bin entry calls). */
import { main, type MainDeps } from '../../cli/main';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout + stderr, for "no secret anywhere" checks. */
  readonly all: string;
}

export interface RunCliOptions extends MainDeps {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly stdin?: string;
  readonly tty?: boolean;
}

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
      env: options.env ?? {},
      cwd: options.cwd ?? process.cwd(),
      readStdin: async () => options.stdin ?? '',
    },
    options,
  );
  return { code, stdout, stderr, all: stdout + stderr };
}
