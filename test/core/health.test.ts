import {
  releaseProbe,
  releaseSlowSlot,
  markSlow,
  admission,
  breakerSettings,
  DEFAULT_BREAKER_SETTINGS,
  newHealth,
  pause,
  recordOutcome,
  resume,
  successRate,
  type BreakerSettings,
  type HealthNotice,
  type ReceiverHealth,
  type ReceiverOutcome,
} from '../../functions/core/health';

const T0 = new Date('2026-12-07T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const settings = DEFAULT_BREAKER_SETTINGS;
const fail = (httpStatus = 500, error = `HTTP ${httpStatus}`): ReceiverOutcome => ({ ok: false, httpStatus, error });
const ok: ReceiverOutcome = { ok: true };
const days = (n: number): number => n * 86_400;

/** Applies outcomes at the given seconds after T0, collecting the notices. */
function run(steps: readonly [seconds: number, outcome: ReceiverOutcome][], start: ReceiverHealth = newHealth('shop-a', T0), s: BreakerSettings = settings) {
  let health = start;
  const notices: HealthNotice[] = [];
  for (const [seconds, outcome] of steps) {
    const change = recordOutcome(health, outcome, at(seconds), s);
    expect(change.next.version).toBe(health.version + 1);
    health = change.next;
    notices.push(...change.notices);
  }
  return { health, notices };
}

/** `count` failures, one every `every` seconds from `from`. */
const failures = (count: number, every: number, from = 0): [number, ReceiverOutcome][] =>
  Array.from({ length: count }, (_, i) => [from + i * every, fail()] as [number, ReceiverOutcome]);

describe('the breaker opens only on a long enough run of failures', () => {
  test('a first failure makes the receiver failing, with its error and time', () => {
    const { health, notices } = run([[0, fail(502, 'HTTP 502 Bad Gateway\n  from the proxy')]]);
    expect(health).toMatchObject({
      state: 'failing',
      consecutiveFailures: 1,
      firstFailureAt: T0.toISOString(),
      lastFailureAt: T0.toISOString(),
      lastError: 'HTTP 502 Bad Gateway from the proxy',
      lastHttpStatus: 502,
    });
    expect(notices).toEqual([]);
  });

  test('10 failures within a minute do not open it (a blip); the 11th after 5 minutes does', () => {
    const blip = run(failures(10, 5));
    expect(blip.health.state).toBe('failing');
    const opened = run([...failures(10, 5), [300, fail()]]);
    expect(opened.health).toMatchObject({ state: 'circuit-open', consecutiveFailures: 11, openedAt: at(300).toISOString() });
    expect(opened.health.nextProbeAt).toBe(at(360).toISOString());
    expect(opened.notices.map((n) => n.kind)).toEqual(['failing', 'circuit-open']);
  });

  test('failures over 10 minutes open it only at the 10th', () => {
    const nine = run(failures(9, 60));
    expect(nine.health.state).toBe('failing');
    const ten = run(failures(10, 60));
    expect(ten.health.state).toBe('circuit-open');
  });

  test('a success in between restarts the count', () => {
    const { health, notices } = run([...failures(9, 60), [540, ok], ...failures(9, 60, 600)]);
    expect(health).toMatchObject({ state: 'failing', consecutiveFailures: 9, firstFailureAt: at(600).toISOString() });
    expect(notices.map((n) => n.kind)).toEqual(['failing', 'recovered', 'failing']);
  });

  test('410 Gone opens it at once', () => {
    const { health, notices } = run([[0, fail(410, 'HTTP 410 Gone')]]);
    expect(health.state).toBe('circuit-open');
    expect(notices).toEqual([expect.objectContaining({ type: 'receiver.circuit-open', lastHttpStatus: 410, consecutiveFailures: 1 })]);
  });

  test('thresholds are settings (the local runner shortens them)', () => {
    const short = breakerSettings({ failures: 2, spanSeconds: 1 });
    expect(run([[0, fail()], [1, fail()]], undefined, short).health.state).toBe('circuit-open');
    expect(run([[0, fail()], [0.5, fail()]], undefined, short).health.state).toBe('failing');
  });

  test('bad settings are refused, naming the setting', () => {
    expect(() => breakerSettings({ failures: 0 })).toThrow(/failures must be a whole number of at least 1, got 0/);
    expect(() => breakerSettings({ probeSeconds: 1.5 })).toThrow(/probeSeconds/);
    expect(breakerSettings({ failures: undefined })).toEqual(DEFAULT_BREAKER_SETTINGS);
  });
});

describe('notices', () => {
  test('failing is announced once per streak, after noticeAfterFailures failures', () => {
    const { notices } = run(failures(5, 1));
    expect(notices).toEqual([
      {
        type: 'receiver.failing',
        kind: 'failing',
        instanceId: 'shop-a',
        at: at(2).toISOString(),
        state: 'failing',
        consecutiveFailures: 3,
        firstFailureAt: T0.toISOString(),
        lastError: 'HTTP 500',
        lastHttpStatus: 500,
      },
    ]);
  });

  test('an unannounced blip recovers silently', () => {
    const { health, notices } = run([[0, fail()], [10, ok]]);
    expect(health).toMatchObject({ state: 'healthy', consecutiveFailures: 0, lastSuccessAt: at(10).toISOString() });
    expect(health.firstFailureAt).toBeUndefined();
    expect(notices).toEqual([]);
  });
});

describe('while the circuit is open', () => {
  const open = () => run([[0, fail(410)]]).health;

  test('the first held event carries the probes (due back at the probe time); the others are held without one', () => {
    const first = admission(open(), at(30), settings, 'p1');
    expect(first).toMatchObject({ kind: 'carry', reason: 'circuit-open', until: at(60).toISOString() });
    if (first.kind !== 'carry') throw new Error('expected a carrier');
    // Its claim outlives the probe time by the probe lease: a carrier that never comes back is replaced then.
    expect(first.next).toMatchObject({ carrierUntil: at(60 + 240).toISOString(), version: 2 });
    expect(admission(first.next, at(31), settings, 'p2')).toEqual({ kind: 'hold', reason: 'circuit-open', until: at(60).toISOString() });
    expect(admission(first.next, at(59), settings, 'p3')).toMatchObject({ kind: 'hold' });
    // Lost (its event went elsewhere): the next event held after the claim ran out carries them.
    const lostAfter = { ...first.next, nextProbeAt: at(400).toISOString() };
    expect(admission(lostAfter, at(301), settings, 'p4')).toMatchObject({ kind: 'carry', until: at(400).toISOString() });
  });

  test('the carrier is named: asked about again (a second ticket, a lost race), it is held until the probe time again', () => {
    const first = admission(open(), at(30), settings, 'p1', 'evt-1');
    if (first.kind !== 'carry') throw new Error('expected a carrier');
    expect(first.next.carrierEventId).toBe('evt-1');
    expect(admission(first.next, at(31), settings, 'p2', 'evt-1')).toEqual({ kind: 'hold', reason: 'circuit-open', until: at(60).toISOString(), carrier: true });
    expect(admission(first.next, at(31), settings, 'p3', 'evt-2')).toEqual({ kind: 'hold', reason: 'circuit-open', until: at(60).toISOString() });
  });

  test('a probe never made frees its slot at once', () => {
    const probe = admission(open(), at(60), settings, 'p1', 'evt-1');
    if (probe.kind !== 'probe') throw new Error('expected a probe');
    expect(releaseProbe(probe.next, 'other')).toBeUndefined();
    const released = releaseProbe(probe.next, 'p1')!;
    expect(released).toMatchObject({ nextProbeAt: at(120).toISOString(), carrierEventId: 'evt-1', version: probe.next.version + 1 });
    expect(released.probeId).toBeUndefined();
    expect(admission(released, at(121), settings, 'p2', 'evt-1')).toMatchObject({ kind: 'probe', probeId: 'p2' });
  });

  test('the probe\'s event carries the next probe, should it fail', () => {
    const probe = admission(open(), at(60), settings, 'p1');
    if (probe.kind !== 'probe') throw new Error('expected a probe');
    expect(probe.next.carrierUntil).toBe(at(120 + 240).toISOString());
    const failed = recordOutcome(probe.next, fail(503), at(62), settings, 'p1').next;
    expect(admission(failed, at(63), settings, 'p2')).toEqual({ kind: 'hold', reason: 'circuit-open', until: at(122).toISOString() });
  });

  test('at the probe time one attempt becomes the probe; others are held while it is in flight', () => {
    const probe = admission(open(), at(60), settings, 'p1');
    expect(probe).toMatchObject({ kind: 'probe', probeId: 'p1' });
    if (probe.kind !== 'probe') throw new Error('expected a probe');
    expect(probe.next).toMatchObject({ probeId: 'p1', probeUntil: at(300).toISOString(), version: 2 });
    // Another worker reading the written record is held.
    expect(admission(probe.next, at(61), settings, 'p2')).toMatchObject({ kind: 'hold', reason: 'probe-in-flight' });
    // A probe never answered (the worker died) frees its slot after the lease.
    expect(admission(probe.next, at(301), settings, 'p3')).toMatchObject({ kind: 'probe', probeId: 'p3' });
  });

  test('a failed probe frees the slot and the next probe waits a full interval', () => {
    const probe = admission(open(), at(60), settings, 'p1');
    if (probe.kind !== 'probe') throw new Error('expected a probe');
    const after = recordOutcome(probe.next, fail(503), at(62), settings, 'p1');
    expect(after.next).toMatchObject({ state: 'circuit-open', consecutiveFailures: 2, nextProbeAt: at(122).toISOString() });
    expect(after.next.probeId).toBeUndefined();
    expect(after.notices).toEqual([]);
    expect(admission(after.next, at(100), settings, 'p2')).toEqual({ kind: 'hold', reason: 'circuit-open', until: at(122).toISOString() });
  });

  test('the first success closes it, with a recovered notice', () => {
    const probe = admission(open(), at(60), settings, 'p1');
    if (probe.kind !== 'probe') throw new Error('expected a probe');
    const after = recordOutcome(probe.next, ok, at(61), settings, 'p1');
    expect(after.next).toMatchObject({ state: 'healthy', consecutiveFailures: 0, lastSuccessAt: at(61).toISOString() });
    for (const field of ['openedAt', 'nextProbeAt', 'probeId', 'probeUntil', 'carrierUntil', 'firstFailureAt', 'announced'] as const) {
      expect(after.next[field]).toBeUndefined();
    }
    expect(after.notices.map((n) => n.type)).toEqual(['receiver.recovered']);
    expect(admission(after.next, at(62), settings, 'p2')).toEqual({ kind: 'deliver' });
  });

  test('a late failure of an attempt that started before it opened changes no probe', () => {
    const late = recordOutcome(open(), fail(), at(5), settings);
    expect(late.next).toMatchObject({ state: 'circuit-open', consecutiveFailures: 2, nextProbeAt: at(60).toISOString() });
  });
});

describe('auto-disable', () => {

  test('a failure after 5 days without success disables the receiver, with a notice', () => {
    const { health, notices } = run([[0, fail()], [days(5) - 1, fail()], [days(5), fail()]]);
    expect(health.state).toBe('disabled');
    expect(health.reason).toBe(`no successful delivery for 5 days (since ${T0.toISOString()})`);
    expect(notices.map((n) => n.kind)).toEqual(['disabled']);
  });

  test('an open circuit past the period disables at the next admission', () => {
    const open = run([[0, fail(410)]]).health;
    const decision = admission(open, at(days(5)), settings, 'p1');
    expect(decision).toMatchObject({ kind: 'disable', next: { state: 'disabled', version: open.version + 1 } });
    if (decision.kind !== 'disable') throw new Error('expected disable');
    expect(decision.notices.map((n) => n.type)).toEqual(['receiver.disabled']);
    expect(admission(decision.next, at(days(6)), settings, 'p2')).toMatchObject({ kind: 'drop', reason: expect.stringMatching(/5 days/) });
  });

  test('a shorter period reads in seconds', () => {
    const { health } = run([[0, fail()], [30, fail()]], undefined, breakerSettings({ disableAfterSeconds: 30 }));
    expect(health).toMatchObject({ state: 'disabled', reason: expect.stringMatching(/^no successful delivery for 30 s/) });
  });
});

describe('pause and resume', () => {
  test('paused holds events and outcomes do not move it', () => {
    const paused = pause(newHealth('shop-a', T0), at(1));
    expect(admission(paused, at(2), settings, 'p')).toEqual({ kind: 'hold', reason: 'paused' });
    const after = recordOutcome(paused, fail(410), at(3), settings);
    expect(after.next.state).toBe('paused');
    expect(after.next.consecutiveFailures).toBe(1);
    expect(after.notices).toEqual([]);
  });

  test('resume returns a paused, disabled or open receiver to healthy with a fresh streak', () => {
    const open = run([[0, fail(410)]]).health;
    for (const start of [pause(open, at(1)), run([[0, fail()], [days(6), fail()]]).health, open]) {
      const resumed = resume(start, at(10));
      expect(resumed).toMatchObject({ state: 'healthy', consecutiveFailures: 0, version: start.version + 1 });
      expect(resumed.reason).toBeUndefined();
      expect(admission(resumed, at(11), settings, 'p')).toEqual({ kind: 'deliver' });
    }
  });
});

describe('success rate over the last hour', () => {
  test('counts attempts per minute and forgets minutes older than an hour', () => {
    const steps: [number, ReceiverOutcome][] = [];
    for (let minute = 0; minute < 90; minute++) steps.push([minute * 60, ok], [minute * 60 + 1, minute >= 80 ? fail() : ok]);
    const { health } = run(steps);
    expect(health.buckets.length).toBeLessThanOrEqual(60);
    // Minutes 30..89: 120 attempts, 10 failed (minutes 80..89).
    expect(successRate(health, at(89 * 60 + 2))).toEqual({ attempts: 120, delivered: 110, rate: 110 / 120 });
    // An hour later, nothing is left in the window.
    expect(successRate(health, at(150 * 60))).toEqual({ attempts: 0, delivered: 0, rate: undefined });
  });
});

describe('a slow receiver: a few attempts in flight across workers, the rest held', () => {
  const slowAnswer: ReceiverOutcome = { ok: true, durationMs: 10_000 };
  const fastAnswer: ReceiverOutcome = { ok: true, durationMs: 40 };
  const timedOut: ReceiverOutcome = { ok: false, error: 'callback timed out after 10000 ms', durationMs: 10_000 };
  const cap2 = breakerSettings({ slowMaxInFlight: 2 });

  test('an attempt that took slowAfterMs or longer marks it slow; a faster one, or one of unknown length, does not', () => {
    expect(recordOutcome(newHealth('shop-a', T0), slowAnswer, at(10), settings).next.slowSince).toBe(at(10).toISOString());
    expect(recordOutcome(newHealth('shop-a', T0), timedOut, at(10), settings).next.slowSince).toBe(at(10).toISOString());
    expect(recordOutcome(newHealth('shop-a', T0), { ok: true, durationMs: settings.slowAfterMs - 1 }, at(1), settings).next.slowSince).toBeUndefined();
    expect(recordOutcome(newHealth('shop-a', T0), ok, at(1), settings).next.slowSince).toBeUndefined();
    expect(admission(newHealth('shop-a', T0), at(1), settings, 'p1')).toEqual({ kind: 'deliver' });
  });

  test('while slow: slowMaxInFlight attempts take slots, the next is held (receiver-slow) with no due time of its own', () => {
    let health = recordOutcome(newHealth('shop-a', T0), slowAnswer, at(10), cap2).next;
    const first = admission(health, at(11), cap2, 'a1');
    expect(first).toMatchObject({ kind: 'slow-slot', slotId: 'a1' });
    if (first.kind !== 'slow-slot') throw new Error('expected a slot');
    expect(first.next.version).toBe(health.version + 1);
    health = first.next;
    const second = admission(health, at(11), cap2, 'a2');
    if (second.kind !== 'slow-slot') throw new Error('expected a second slot');
    health = second.next;
    expect(health.slowSlots?.map((s) => s.id)).toEqual(['a1', 'a2']);
    expect(admission(health, at(12), cap2, 'a3')).toEqual({ kind: 'hold', reason: 'receiver-slow' });
  });

  test('a finished attempt frees its slot; another slow answer keeps the state, a fast one clears it (slowCleared)', () => {
    let health = recordOutcome(newHealth('shop-a', T0), slowAnswer, at(10), cap2).next;
    for (const id of ['a1', 'a2']) {
      const slot = admission(health, at(11), cap2, id);
      if (slot.kind !== 'slow-slot') throw new Error('expected a slot');
      health = slot.next;
    }
    const slowAgain = recordOutcome(health, timedOut, at(21), cap2, 'a1');
    expect(slowAgain.next.slowSince).toBe(at(10).toISOString());
    expect(slowAgain.next.slowSlots?.map((s) => s.id)).toEqual(['a2']);
    expect(slowAgain.slowCleared).toBeUndefined();
    expect(admission(slowAgain.next, at(21), cap2, 'a3')).toMatchObject({ kind: 'slow-slot', slotId: 'a3' });

    const fast = recordOutcome(slowAgain.next, fastAnswer, at(22), cap2, 'a2');
    expect(fast.slowCleared).toBe(true);
    expect(fast.next.slowSince).toBeUndefined();
    expect(fast.next.slowSlots).toBeUndefined();
    expect(admission(fast.next, at(22), cap2, 'a4')).toEqual({ kind: 'deliver' });
  });

  test('a slot whose worker died frees itself after the lease', () => {
    let health = recordOutcome(newHealth('shop-a', T0), slowAnswer, at(10), breakerSettings({ slowMaxInFlight: 1 })).next;
    const one = breakerSettings({ slowMaxInFlight: 1 });
    const slot = admission(health, at(11), one, 'lost');
    if (slot.kind !== 'slow-slot') throw new Error('expected a slot');
    health = slot.next;
    expect(admission(health, at(11 + one.probeLeaseSeconds - 1), one, 'b')).toEqual({ kind: 'hold', reason: 'receiver-slow' });
    expect(admission(health, at(11 + one.probeLeaseSeconds + 1), one, 'b')).toMatchObject({ kind: 'slow-slot', slotId: 'b' });
  });

  test('markSlow: an attempt still running after slowAfterMs marks it slow and takes a slot if one is free', () => {
    const marked = markSlow(newHealth('shop-a', T0), 'run-1', at(2), cap2);
    expect(marked?.slowSince).toBe(at(2).toISOString());
    expect(marked?.slowSlots?.map((s) => s.id)).toEqual(['run-1']);
    const second = markSlow(marked!, 'run-2', at(2), cap2)!;
    expect(second.slowSince).toBe(at(2).toISOString());
    // Full: a third running attempt changes nothing (it runs on, uncounted: it started before the state was known).
    expect(markSlow(second, 'run-3', at(3), cap2)).toBeUndefined();
    expect(markSlow(second, 'run-1', at(3), cap2)).toBeUndefined();
    expect(releaseSlowSlot(second, 'run-1')?.slowSlots?.map((s) => s.id)).toEqual(['run-2']);
    expect(releaseSlowSlot(second, 'other')).toBeUndefined();
    // An open circuit or a pause holds everything already: no slow state there.
    expect(markSlow({ ...newHealth('shop-a', T0), state: 'paused' }, 'run-1', at(2), cap2)).toBeUndefined();
  });

  test('an open circuit, a pause or a resume ends the slow state', () => {
    const slow = recordOutcome(newHealth('shop-a', T0), slowAnswer, at(10), settings).next;
    expect(pause(slow, at(11)).slowSince).toBeUndefined();
    expect(resume(slow, at(11)).slowSince).toBeUndefined();
    const { health: open } = run([...failures(9, 40, 20), [400, timedOut]], slow);
    expect(open.state).toBe('circuit-open');
    expect(open.slowSince).toBeUndefined();
  });

  test('settings: slowAfterMs and slowMaxInFlight are whole numbers of at least 1', () => {
    expect(() => breakerSettings({ slowMaxInFlight: 0 })).toThrow(/slowMaxInFlight/);
    expect(() => breakerSettings({ slowAfterMs: 1.5 })).toThrow(/slowAfterMs/);
  });
});
