/**
 * The shape both scheduled-function stand-ins share (the poll and sweep loops): one job run every
 * `intervalMs`, never two at once (a run still going when the next is due absorbs it), a throw
 * reported and the loop going on, `runNow` for tests and the CLI, `stop` that waits for the run in
 * progress.
 */
export interface PeriodicRunOptions<T> {
  readonly job: () => Promise<T>;
  readonly intervalMs: number;
  /** Run once at start as well, rather than first after one interval. @default false */
  readonly runAtStart?: boolean;
  readonly onRun?: (result: T) => void;
  readonly onError?: (error: unknown) => void;
}

export interface PeriodicRun<T> {
  /** One run now (after the one in progress, if any); undefined once stopped or when the run threw. */
  runNow(): Promise<T | undefined>;
  /** No new run; resolves when the one in progress (if any) has finished. */
  stop(): Promise<void>;
}

export function startPeriodicRun<T>(options: PeriodicRunOptions<T>): PeriodicRun<T> {
  let running: Promise<T | undefined> | undefined;
  let stopped = false;

  const run = (): Promise<T | undefined> => {
    running ??= (async () => {
      try {
        const result = await options.job();
        options.onRun?.(result);
        return result;
      } catch (error) {
        options.onError?.(error);
        return undefined;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped && !running) void run();
  }, Math.max(1, options.intervalMs));
  timer.unref();
  if (options.runAtStart) void run();

  return {
    async runNow() {
      if (running) await running;
      return stopped ? undefined : run();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
