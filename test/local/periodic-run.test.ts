import { startPeriodicRun } from '../../local/periodic-run';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('startPeriodicRun: the loop shape of the poll and sweep stand-ins', () => {
  test('never runs two jobs at once: runNow during a run waits for it, then runs once more', async () => {
    let active = 0;
    let peak = 0;
    let runs = 0;
    const gate = deferred();
    const loop = startPeriodicRun({
      job: async () => {
        active += 1;
        peak = Math.max(peak, active);
        runs += 1;
        if (runs === 1) await gate.promise;
        active -= 1;
        return runs;
      },
      intervalMs: 60_000,
      runAtStart: true,
    });
    const second = loop.runNow();
    const third = loop.runNow();
    gate.resolve();
    const results = await Promise.all([second, third]);
    expect(peak).toBe(1);
    // Both callers waited for the first run, then shared or queued behind the next one.
    expect(results.every((r) => typeof r === 'number' && r >= 2)).toBe(true);
    await loop.stop();
  });

  test('a throwing job is reported and the loop goes on; after stop, runNow runs nothing', async () => {
    const errors: unknown[] = [];
    const seen: number[] = [];
    let calls = 0;
    const loop = startPeriodicRun({
      job: async () => {
        calls += 1;
        if (calls === 1) throw new Error('ledger unreachable');
        return calls;
      },
      intervalMs: 60_000,
      onError: (error) => errors.push(error),
      onRun: (result) => seen.push(result),
    });
    expect(await loop.runNow()).toBeUndefined();
    expect(await loop.runNow()).toBe(2);
    expect((errors[0] as Error).message).toBe('ledger unreachable');
    expect(seen).toEqual([2]);
    await loop.stop();
    expect(await loop.runNow()).toBeUndefined();
    expect(calls).toBe(2);
  });

  test('runs by itself every interval', async () => {
    let calls = 0;
    const loop = startPeriodicRun({ job: async () => ++calls, intervalMs: 20 });
    const deadline = Date.now() + 10_000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await loop.stop();
    expect(calls).toBeGreaterThanOrEqual(3);
  });
});
