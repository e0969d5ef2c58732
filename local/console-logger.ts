/**
 * A readable stand-in for the handlers' Powertools Logger on a developer's console: one line
 * per entry (`12:00:01.234 WARN  deliver  message  key=value ...`) instead of a JSON object.
 * It prints what the handlers pass it, as Powertools would (they never pass secrets).
 */

export type ConsoleLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const RANK: Record<ConsoleLogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

export interface ConsoleLogger {
  debug(input: unknown, ...extra: unknown[]): void;
  info(input: unknown, ...extra: unknown[]): void;
  warn(input: unknown, ...extra: unknown[]): void;
  error(input: unknown, ...extra: unknown[]): void;
  /** Lambda context keys are noise on a console: accepted and ignored. */
  addContext(context: unknown): void;
  appendKeys(keys: Record<string, unknown>): void;
  removeKeys(keys: string[]): void;
}

export function createConsoleLogger(options: {
  readonly service: string;
  readonly level: ConsoleLogLevel;
  readonly write: (line: string) => void;
  readonly now?: () => Date;
}): ConsoleLogger {
  const persistent: Record<string, unknown> = {};
  const now = options.now ?? (() => new Date());
  const log = (level: ConsoleLogLevel) => (input: unknown, ...extra: unknown[]) => {
    if (RANK[level] < RANK[options.level]) return;
    options.write(formatEntry(now(), level, options.service, input, extra, persistent));
  };
  return {
    debug: log('DEBUG'),
    info: log('INFO'),
    warn: log('WARN'),
    error: log('ERROR'),
    addContext: () => undefined,
    appendKeys: (keys) => Object.assign(persistent, keys),
    removeKeys: (keys) => keys.forEach((key) => delete persistent[key]),
  };
}

export function formatEntry(
  time: Date,
  level: ConsoleLogLevel,
  service: string,
  input: unknown,
  extra: readonly unknown[],
  persistent: Readonly<Record<string, unknown>> = {},
): string {
  const attributes: Record<string, unknown> = { ...persistent };
  let message: string;
  if (typeof input === 'string') {
    message = input;
  } else if (input !== null && typeof input === 'object') {
    const { message: text, ...rest } = input as Record<string, unknown>;
    message = String(text ?? '');
    Object.assign(attributes, rest);
  } else {
    message = String(input);
  }
  const trailing: string[] = [];
  for (const item of extra) {
    if (item instanceof Error) trailing.push(item.stack ?? `${item.name}: ${item.message}`);
    else if (typeof item === 'string') trailing.push(item);
    else if (item !== null && typeof item === 'object') Object.assign(attributes, item);
  }
  const pairs = Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const clock = time.toISOString().slice(11, 23);
  const head = `${clock} ${level.padEnd(5)} ${service.padEnd(7)} ${message}`;
  const line = pairs.length > 0 ? `${head}  ${pairs.join(' ')}` : head;
  return trailing.length > 0 ? `${line}\n${trailing.map((text) => indent(text)).join('\n')}` : line;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    // Multi-line values (stack traces) go on their own lines.
    if (value.includes('\n')) return `\n${indent(value)}\n`;
    return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  }
  if (value instanceof Error) return JSON.stringify(`${value.name}: ${value.message}`);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
