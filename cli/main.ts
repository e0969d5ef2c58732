/**
 * `ecwid-events <command>`: parses the command line with node:util parseArgs, finds the
 * command, builds the lazily resolved resources and runs it. Every failure ends as one line on
 * stderr and a non-zero exit code (a stack trace only with --debug).
 */
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { InstanceExistsError, InvalidInstanceIdError } from '../functions/core/instance';
import { InstanceValidationError } from '../functions/core/instance-validation';
import { INGEST_ROUTE, STAGE_PATTERN, stackNameForStage } from '../functions/contract';
import type { CommandSpec, OptionSpec } from './command';
import { COMMANDS } from './commands';
import { createResources, STACK_ENV, type GlobalOptions, type Resources } from './environment';
import { CliError, EXIT, UsageError, isErrorLike, oneLine } from './errors';
import { Output, type CliIo } from './output';

export const PROGRAM = 'ecwid-events';

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  stack: { type: 'string', value: 'NAME', description: `CloudFormation stack to work on (default: $${STACK_ENV})` },
  stage: { type: 'string', value: 'STAGE', description: 'shorthand for --stack EcwidEvents-STAGE (the CDK app\'s naming)' },
  region: { type: 'string', value: 'REGION', description: 'AWS region (default: the usual AWS_REGION / profile chain)' },
  local: { type: 'boolean', description: 'work on the local runner (npm start), found through its state file' },
  'state-file': { type: 'string', value: 'PATH', description: 'local runner state file (default .local-state/runner.json)' },
  'sqs-endpoint': { type: 'string', value: 'URL', description: 'SQS endpoint, e.g. moto (AWS_ENDPOINT_URL_SQS works too)' },
  'ssm-endpoint': { type: 'string', value: 'URL', description: 'SSM endpoint, e.g. moto (AWS_ENDPOINT_URL_SSM works too)' },
  'queue-url': { type: 'string', value: 'URL', description: 'event queue URL (instead of the stack output)' },
  'dlq-url': { type: 'string', value: 'URL', description: 'dead-letter queue URL (instead of the stack output)' },
  'ssm-prefix': { type: 'string', value: 'PREFIX', description: 'SSM parameter prefix (default /ecwid-events with explicit endpoints)' },
  'ingest-url': { type: 'string', value: 'URL', description: `ingest URL, ...${INGEST_ROUTE} (instead of the stack output)` },
  'instances-dir': { type: 'string', value: 'DIR', description: 'keep instances in this folder of JSON files instead of SSM' },
  'dynamodb-endpoint': { type: 'string', value: 'URL', description: 'DynamoDB endpoint of the event ledger, e.g. moto (AWS_ENDPOINT_URL_DYNAMODB works too)' },
  'ledger-table': { type: 'string', value: 'NAME', description: 'event ledger table (instead of the stack output LedgerTableName)' },
  'kms-key-id': { type: 'string', value: 'KEY', description: 'KMS key for instance SecureStrings (default: stack output SsmKmsKeyId, else aws/ssm)' },
  json: { type: 'boolean', description: 'print the result as JSON (for scripts)' },
  debug: { type: 'boolean', description: 'print stack traces of errors' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

const GROUPS: Readonly<Record<string, string>> = {
  instances: 'manage instance configurations (SSM SecureStrings, or the local runner folder)',
  dlq: 'inspect and replay the dead-letter queue',
  events: 'search the event ledger, read every attempt, resend events',
};

export interface MainDeps {
  /** Replaces the real resources (tests). */
  readonly resources?: (globals: GlobalOptions) => Resources;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

function toGlobals(values: Record<string, unknown>): GlobalOptions {
  const stage = values.stage as string | undefined;
  if (stage !== undefined && !STAGE_PATTERN.test(stage)) throw new UsageError(`--stage must match ${STAGE_PATTERN}, got "${stage.slice(0, 30)}"`);
  if (stage !== undefined && values.stack !== undefined) throw new UsageError('give --stack or --stage, not both');
  return {
    stack: (values.stack as string | undefined) ?? (stage === undefined ? undefined : stackNameForStage(stage)),
    region: values.region as string | undefined,
    local: values.local as boolean | undefined,
    stateFile: values['state-file'] as string | undefined,
    sqsEndpoint: values['sqs-endpoint'] as string | undefined,
    ssmEndpoint: values['ssm-endpoint'] as string | undefined,
    queueUrl: values['queue-url'] as string | undefined,
    dlqUrl: values['dlq-url'] as string | undefined,
    ssmPrefix: values['ssm-prefix'] as string | undefined,
    ingestUrl: values['ingest-url'] as string | undefined,
    instancesDir: values['instances-dir'] as string | undefined,
    kmsKeyId: values['kms-key-id'] as string | undefined,
    dynamodbEndpoint: values['dynamodb-endpoint'] as string | undefined,
    ledgerTable: values['ledger-table'] as string | undefined,
    json: values.json as boolean | undefined,
    debug: values.debug as boolean | undefined,
  };
}

/** The command named by the leading positionals (longest match), and how many words it used. */
export function findCommand(positionals: readonly string[]): { command?: CommandSpec; words: number } {
  for (const words of [2, 1]) {
    const name = positionals.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, words };
  }
  return { words: 0 };
}

type ParseArgsOption = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

const parseOptions = (specs: Readonly<Record<string, OptionSpec>>): Record<string, ParseArgsOption> =>
  Object.fromEntries(
    Object.entries(specs).map(([name, o]) => [name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }]),
  );

/** Union of every option definition: used only to find the command words on the first pass. */
function allOptions(): Record<string, ParseArgsOption> {
  const union: Record<string, ParseArgsOption> = {};
  for (const spec of [GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})]) {
    Object.assign(union, parseOptions(spec));
  }
  return union;
}

/**
 * `--timeout -5` as `--timeout=-5`: parseArgs takes a value starting with "-" for an option and
 * calls it ambiguous; joined, the option's own check says what is wrong with the number.
 */
function joinNegativeValues(argv: readonly string[], options: Record<string, ParseArgsOption>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const name = /^--([a-z][a-z-]*)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${argv[i]}=${next}`);
      i += 1;
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

/** Runs the CLI; resolves to the process exit code. Never throws. */
export async function main(rawArgv: readonly string[], io: CliIo, deps: MainDeps = {}): Promise<number> {
  const argv = joinNegativeValues(rawArgv, allOptions());
  let json = argv.includes('--json');
  let debug = argv.includes('--debug');
  const out = () => new Output(io, json);
  try {
    const first = parseArgs({ args: [...argv], options: allOptions(), strict: false, allowPositionals: true });
    const words = first.positionals;
    if (words[0] === 'help') {
      io.stdout.write(helpFor(words.slice(1)));
      return EXIT.ok;
    }
    const { command, words: used } = findCommand(words);
    if (!command) {
      if (first.values.help || words.length === 0 || (words.length === 1 && GROUPS[words[0]])) {
        // `ecwid-events --bogus` / `ecwid-events dlq --bogus`: name the option rather than print a page of help.
        try {
          parseArgs({ args: [...argv], options: parseOptions(GLOBAL_OPTIONS), strict: true, allowPositionals: true });
        } catch (error) {
          throw new UsageError(`${cleanParseError(error)}; see ${PROGRAM} ${words[0] && GROUPS[words[0]] ? `${words[0]} ` : ''}--help`);
        }
        io.stdout.write(helpFor(words));
        return words.length === 0 && !first.values.help ? EXIT.usage : EXIT.ok;
      }
      throw new UsageError(`unknown command "${words.slice(0, 2).join(' ')}"; see ${PROGRAM} --help`);
    }

    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: parseOptions({ ...GLOBAL_OPTIONS, ...(command.options ?? {}) }),
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError(cleanParseError(error), command.name);
    }
    const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    json = values.json === true;
    debug = values.debug === true;
    const positionals = parsed.positionals.slice(used);
    const { min, max } = command.positionals ?? { min: 0, max: 0 };
    if (positionals.length < min) throw new UsageError(`missing argument: ${command.name} ${command.usage}`, command.name);
    if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`, command.name);

    const globals = toGlobals(values);
    const resources = deps.resources ? deps.resources(globals) : createResources(globals, { env: io.env, cwd: io.cwd, warn: (message) => out().warn(message) });
    if (debug) io.stderr.write(`${PROGRAM}: working on ${resources.describe()}\n`);
    const code = await command
      .run({
        io,
        out: out(),
        globals,
        values,
        positionals,
        resources,
        now: deps.now ?? (() => new Date()),
        sleep: deps.sleep ?? ((ms) => delay(ms)),
      })
      .finally(() => resources.close());
    return code ?? EXIT.ok;
  } catch (error) {
    return reportError(error, io, json, debug);
  }
}

function cleanParseError(error: unknown): string {
  // parseArgs messages end with a hint about "--" that does not apply here.
  return oneLine(error).replace(/\. To specify a positional argument starting with a '-'.*$/, '').replace(/^Unknown option/, 'unknown option');
}

function reportError(error: unknown, io: CliIo, json: boolean, debug: boolean): number {
  let message: string;
  let exitCode: number = EXIT.failure;
  let details: Record<string, unknown> | undefined;
  if (error instanceof InstanceValidationError) {
    message = error.message;
    exitCode = EXIT.usage;
    details = { problems: error.problems };
  } else if (error instanceof InvalidInstanceIdError) {
    message = error.message;
    exitCode = EXIT.usage;
  } else if (error instanceof InstanceExistsError) {
    message = `${error.message}; choose another --id, or change it with "instances update"`;
  } else if (error instanceof CliError) {
    message = error.message;
    exitCode = error.exitCode;
    details = error.details;
    if (error instanceof UsageError && error.command) message += ` (see ${PROGRAM} ${error.command} --help)`;
  } else {
    message = describeUnexpected(error);
  }
  if (json) io.stdout.write(`${JSON.stringify({ error: { message, exitCode, ...(details ?? {}) } }, null, 2)}\n`);
  io.stderr.write(`${PROGRAM}: error: ${message}\n`);
  if (debug && isErrorLike(error) && error.stack) io.stderr.write(`${error.stack}\n`);
  return exitCode;
}

/** SDK and system errors: keep the error name (e.g. AccessDenied) and the first line. */
function describeUnexpected(error: unknown): string {
  if (!isErrorLike(error)) return oneLine(error);
  const name = error.name && error.name !== 'Error' ? error.name : undefined;
  const line = oneLine(error);
  if (/Could not load credentials/i.test(line)) return `${line} (configure AWS credentials, or use --local / explicit endpoints)`;
  if (/Region is missing/i.test(line)) return 'no AWS region: pass --region or set AWS_REGION';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `connection refused: ${line}`;
  return name && !line.startsWith(name) ? `${name}: ${line}` : line;
}

// ---- help ----------------------------------------------------------------------------------

function optionLines(specs: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(specs).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' ...' : ''}`,
    o.description,
  ]);
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

export function commandHelp(command: CommandSpec): string {
  const lines = [`Usage: ${PROGRAM} ${command.name} ${command.usage}`.trimEnd(), '', command.summary];
  if (command.details) lines.push('', command.details.trimEnd());
  if (command.options && Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  // The global options are the same for every command: named here, explained once in the main help.
  lines.push('', ...wrap(`Global options (see "${PROGRAM} --help"): ${Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`).join(' ')}`, 100));
  return `${lines.join('\n')}\n`;
}

/** Words of `text` in lines of at most `width` characters, continuation lines indented. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return line === '' ? lines : [...lines, line];
}

function helpFor(words: readonly string[]): string {
  const { command } = findCommand(words);
  if (command) return commandHelp(command);
  const group = words[0] && GROUPS[words[0]] ? words[0] : undefined;
  const listed = COMMANDS.filter((c) => !group || c.name.startsWith(`${group} `));
  const lines = [
    `Usage: ${PROGRAM} ${group ?? '<command>'} ${group ? '<subcommand> ' : ''}[options]`,
    '',
    group
      ? `${group}: ${GROUPS[group]}`
      : 'Operator tool for ecwid-events: instances, queues, dead-letter queue, test events.',
    '',
    'Commands:',
    ...listed.flatMap((c) => [`  ${c.name} ${c.usage}`.trimEnd(), `      ${c.summary}`]),
    '',
    'Where it works (explicit options win, then --local, then --stack):',
    '  --local                 the local runner started with "npm start" (its state file)',
    '  --sqs-endpoint/--queue-url/--dlq-url/--ssm-endpoint/--ssm-prefix/--ingest-url',
    '                          explicit endpoints and URLs, e.g. moto',
    `  --stack NAME / --stage S  a deployed stack (or $${STACK_ENV}); resources from its outputs`,
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    `Exit codes: 0 ok, 1 failed, 2 bad usage or invalid input, 3 test event ended in the DLQ, 4 timed out.`,
    `Run "${PROGRAM} <command> --help" for a command's options.`,
  ];
  return `${lines.join('\n')}\n`;
}
