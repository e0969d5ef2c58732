/**
 * Virtual time for the scale simulation: every wait (an AWS call, Ecwid, a callback, a Lambda cold
 * start) is a timer on a virtual clock, so two simulated minutes at 2,000 events/s run as fast as
 * the CPU allows, and the same run gives the same counts. Only valid for code that waits through
 * `sleep` (the stand-ins) and never on real I/O or real timers: each virtual millisecond, the due
 * timers are resolved and every promise chain they start runs to its next virtual wait before the
 * clock moves on (one macrotask turn drains the microtask queue).
 *
 * `install()` also points Date.now() at the virtual clock, for code that reads it directly
 * (Powertools' parameter cache); `new Date()` keeps the real time (only log timestamps use it).
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

export class VirtualTime {
  /** Milliseconds since the start of the simulation. */
  now = 0;
  /** Real epoch ms the simulation starts at (Date.now() = epoch + now while installed). */
  readonly epoch: number;
  private readonly heap: Timer[] = [];
  private seq = 0;
  private realDateNow: (() => number) | undefined;

  constructor(epoch = Date.UTC(2026, 0, 5, 12, 0, 0)) {
    this.epoch = epoch;
  }

  /** Epoch ms on the virtual clock. */
  readonly epochNow = (): number => this.epoch + this.now;
  /** A Date on the virtual clock (for the handlers' `clock` dependency). */
  readonly date = (): Date => new Date(this.epoch + this.now);

  /** Resolves after `ms` virtual milliseconds (timers are kept to whole milliseconds). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.now + Math.max(0, ms), resolve));
  }

  /** Runs `fire` at virtual time `at` (rounded up to the millisecond). */
  at(at: number, fire: () => void): void {
    const timer = { at: Math.max(Math.ceil(at), this.now), seq: this.seq++, fire };
    this.heap.push(timer);
    this.siftUp(this.heap.length - 1);
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Advances the clock timer by timer until `until` (or until nothing is left to run). */
  async run(until: number): Promise<void> {
    await turn();
    while (this.heap.length > 0 && this.heap[0].at <= until) {
      const at = this.heap[0].at;
      this.now = at;
      // Everything due at this millisecond, then one turn for the chains they started.
      while (this.heap.length > 0 && this.heap[0].at === at) this.pop().fire();
      await turn();
    }
    this.now = Math.max(this.now, until);
  }

  /** Date.now() follows the virtual clock until uninstall(). */
  install(): void {
    if (this.realDateNow) return;
    this.realDateNow = Date.now;
    Date.now = this.epochNow;
  }

  uninstall(): void {
    if (this.realDateNow) Date.now = this.realDateNow;
    this.realDateNow = undefined;
  }

  private pop(): Timer {
    const top = this.heap[0];
    const last = this.heap.pop() as Timer;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(heap[index], heap[parent])) break;
      [heap[index], heap[parent]] = [heap[parent], heap[index]];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.less(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && this.less(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest], heap[index]];
      index = smallest;
    }
  }
}

/** One macrotask turn: every microtask queued so far (and those they queue) has run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Counts per virtual second, for rates and peaks. */
export class PerSecond {
  private readonly buckets = new Map<number, number>();
  total = 0;
  constructor(private readonly time: VirtualTime) {}
  add(n = 1): void {
    const second = Math.floor(this.time.now / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + n);
    this.total += n;
  }
  /** Highest count in one virtual second. */
  peak(): number {
    let peak = 0;
    for (const value of this.buckets.values()) peak = Math.max(peak, value);
    return peak;
  }
  /** Count within [fromSecond, toSecond). */
  between(fromSecond: number, toSecond: number): number {
    let sum = 0;
    for (const [second, value] of this.buckets) if (second >= fromSecond && second < toSecond) sum += value;
    return sum;
  }
}
