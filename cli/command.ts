/**
 * The shape of a CLI command and the context it runs in. Commands are plain objects listed in
 * cli/commands/*.ts; cli/main.ts parses the command line (node:util parseArgs) and runs them.
 */
import type { Resources, GlobalOptions } from './environment';
import type { CliIo, Output } from './output';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder shown in help, e.g. `FILE`. */
  readonly value?: string;
  readonly description: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface CommandContext {
  readonly io: CliIo;
  readonly out: Output;
  readonly globals: GlobalOptions;
  /** This command's own options. */
  readonly values: OptionValues;
  /** Positional arguments after the command words. */
  readonly positionals: readonly string[];
  readonly resources: Resources;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface CommandSpec {
  /** Command words, e.g. `instances create`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Arguments part of the usage line, e.g. `--file FILE [--id ID]`. */
  readonly usage: string;
  /** More help, shown by `--help` (plain text, already wrapped). */
  readonly details?: string;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** How many positionals the command takes. */
  readonly positionals?: { readonly min: number; readonly max: number };
  /** Resolves to the exit code (0 when undefined). */
  run(ctx: CommandContext): Promise<number | void>;
}

/** Typed accessors for parsed option values. */
export const optionString = (values: OptionValues, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};
export const optionBoolean = (values: OptionValues, name: string): boolean => values[name] === true;
export const optionList = (values: OptionValues, name: string): string[] => {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
};
