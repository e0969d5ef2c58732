/**
 * Everything the CLI prints goes through here: results to stdout (JSON with --json, text
 * otherwise), notes, warnings and progress to stderr so scripts can pipe stdout.
 */

/** The process streams and environment, injectable so tests run commands in-process. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Reads all of standard input (for `--file -`). */
  readonly readStdin?: () => Promise<string>;
}

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | boolean | undefined | null;
  readonly align?: 'left' | 'right';
}

const cell = (value: string | number | boolean | undefined | null): string =>
  value === undefined || value === null || value === '' ? '-' : String(value).replace(/\s+/g, ' ');

/** A plain-text table: a header row, a rule, one line per row, columns padded to fit. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i].length)));
  const format = (line: readonly string[]) =>
    line
      .map((text, i) => (columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [format(columns.map((c) => c.header)), format(widths.map((w) => '-'.repeat(w))), ...cells.map(format)].join('\n') + '\n';
}

/** At most `max` characters, with an ellipsis when cut. */
export const truncate = (text: string | undefined, max: number): string | undefined =>
  text === undefined ? undefined : text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** `key  value` lines with the keys aligned. */
export function renderPairs(pairs: ReadonlyArray<readonly [string, string | number | boolean | undefined | null]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${cell(value)}`).join('\n') + '\n';
}

export interface Progress {
  /** Sets the number done (and the total, when it becomes known). */
  update(done: number, total?: number): void;
  /** Clears the bar. */
  done(): void;
}

const BAR_WIDTH = 24;

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay clean;
 * each command prints its final counts anyway).
 */
export function createProgress(io: CliIo, label: string): Progress {
  if (!io.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let total: number | undefined;
  let drawn = false;
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) total = newTotal;
      let text: string;
      if (total && total > 0) {
        const ratio = Math.min(1, done / total);
        const filled = Math.round(ratio * BAR_WIDTH);
        text = `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`;
      } else {
        text = `${label} ${done}`;
      }
      io.stderr.write(`\r\x1b[2K${text}`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** The printer a command uses; knows whether the caller asked for JSON. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** The command's result: `value` as JSON with --json, else the human text. */
  result(value: unknown, human: () => string): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else this.io.stdout.write(human());
  }

  warn(line: string): void {
    this.io.stderr.write(`warning: ${line}\n`);
  }

  /**
   * For a command that printed its result and still failed: the one-line reason on stderr;
   * returns the exit code to end with.
   */
  fail(reason: string, exitCode = 1): number {
    this.io.stderr.write(`ecwid-events: error: ${reason}\n`);
    return exitCode;
  }

  /** Transient status ("waiting ...") on stderr. */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  progress(label: string): Progress {
    return createProgress(this.io, label);
  }
}

/** "3m 12s", "4h 2m", "2d 1h": ages and durations for tables. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
