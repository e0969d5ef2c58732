import { INVOCATION_RESERVE_MS, timeBudget, worstCaseRecordMs } from '../../functions/core/time-budget';

const parts = { slotWaitMs: 2_000, ecwidReads: 1, ecwidReadMs: 12_000, callbackMs: 10_000, bookkeepingMs: 5_000 };

describe('deliver time budget', () => {
  it('a record at its worst waits for a slot, reads Ecwid, calls back and records the outcome', () => {
    expect(worstCaseRecordMs(parts)).toBe(29_000);
    expect(worstCaseRecordMs({ ...parts, ecwidReads: 2 })).toBe(41_000);
    expect(worstCaseRecordMs({ ...parts, ecwidReads: 0 })).toBe(17_000);
  });

  it('refuses parts that are not a duration', () => {
    expect(() => worstCaseRecordMs({ ...parts, callbackMs: -1 })).toThrow('callbackMs must be a number of at least 0, got -1');
    expect(() => worstCaseRecordMs({ ...parts, ecwidReadMs: Number.NaN })).toThrow('ecwidReadMs');
  });

  it('starts a record only while its worst case ends before the remaining time, less the reserve', () => {
    const budget = timeBudget(1_000_000, 120_000, 29_000);
    expect(budget.deadlineMs).toBe(1_000_000 + 120_000 - INVOCATION_RESERVE_MS);
    expect(budget.mayStart(1_000_000)).toBe(true);
    // The last moment a record may start: its worst case ends exactly at the deadline.
    expect(budget.mayStart(budget.deadlineMs - 29_000)).toBe(true);
    expect(budget.mayStart(budget.deadlineMs - 29_000 + 1)).toBe(false);
  });

  it('starts nothing when the invocation has less than one record left, or none at all', () => {
    expect(timeBudget(0, 29_000, 29_000).mayStart(0)).toBe(false);
    expect(timeBudget(0, 30_000, 29_000).mayStart(0)).toBe(true);
    expect(timeBudget(0, -5, 29_000).mayStart(0)).toBe(false);
  });
});
