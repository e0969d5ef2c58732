/**
 * Lambda, API Gateway and the SQS FIFO event source for the scale simulation, in virtual time.
 *
 * - EnvironmentPool: execution environments of one function. A request takes an idle environment
 *   (the most recently used, as Lambda tends to) or starts a new one (a cold start: `initMs` of
 *   virtual time, billed), up to the function's concurrency; beyond it the request is throttled.
 *   Each environment has its own handler, clients and caches, built by `create` (the real
 *   composition of the function).
 * - ApiStage: the HTTP API stage throttle (token bucket, rate and burst).
 * - SimFifoQueue: an SQS FIFO queue (message groups; a group is locked while any message of it is in
 *   flight; visibility; 5-minute deduplication), holding messages sent through the simulated SQS.
 * - SqsEventSource: Lambda's SQS event source mapping: batches of up to 10 from the groups that are
 *   free, concurrency scaling up by 300 a minute from 5 (AWS's documented rate), up to the maximum
 *   concurrency; records the handler did not report as failed are deleted (one DeleteMessageBatch).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { TokenBucket } from './aws';
import { PerSecond, type VirtualTime } from './virtual-time';

export interface Environment<H> {
  readonly index: number;
  readonly handler: H;
}

export interface InvocationRecord {
  readonly start: number;
  readonly durationMs: number;
  readonly cold: boolean;
}

export class EnvironmentPool<H> {
  private readonly idle: Environment<H>[] = [];
  private created = 0;
  busy = 0;
  coldStarts = 0;
  throttled = 0;
  invocations = 0;
  /** Virtual ms of every invocation and init, for billed duration. */
  billedMs = 0;
  initBilledMs = 0;
  peakConcurrency = 0;

  constructor(
    private readonly time: VirtualTime,
    private readonly options: { readonly concurrency: number; readonly initMs: number; readonly create: (index: number) => H },
  ) {}

  get environments(): number {
    return this.created;
  }

  /** Runs `work` in an environment; undefined when the function is at its concurrency (throttled). */
  async invoke<T>(work: (handler: H) => Promise<T>): Promise<{ result: T } | undefined> {
    if (this.busy >= this.options.concurrency) {
      this.throttled++;
      return undefined;
    }
    this.busy++;
    this.peakConcurrency = Math.max(this.peakConcurrency, this.busy);
    let env = this.idle.pop();
    if (!env) {
      env = { index: this.created, handler: this.options.create(this.created) };
      this.created++;
      this.coldStarts++;
      await this.time.sleep(this.options.initMs);
      this.initBilledMs += this.options.initMs;
    }
    const start = this.time.now;
    try {
      return { result: await work(env.handler) };
    } finally {
      this.invocations++;
      this.billedMs += Math.max(1, Math.ceil(this.time.now - start));
      this.busy--;
      this.idle.push(env);
    }
  }
}

/** The HTTP API stage's throttle. */
export class ApiStage {
  private readonly bucket: TokenBucket;
  throttled = 0;
  constructor(time: VirtualTime, rate: number, burst: number) {
    this.bucket = new TokenBucket(time, rate, burst);
  }
  admit(): boolean {
    if (this.bucket.take()) return true;
    this.throttled++;
    return false;
  }
}

interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  readonly groupId: string;
  readonly dedupId: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  inFlight: boolean;
  receipt: string;
  /** Virtual ms from which an in-flight message counts as not in flight again. */
  visibleAt: number;
}

export class SimFifoQueue {
  private readonly groups = new Map<string, QueuedMessage[]>();
  /** Groups with a visible head and nothing in flight, oldest first. */
  private readonly ready = new Set<string>();
  private readonly byReceipt = new Map<string, QueuedMessage>();
  private readonly dedup = new Map<string, number>();
  private sequence = 0;
  messages = 0;
  duplicatesDropped = 0;
  readonly sent: PerSecond;
  onReady: () => void = () => undefined;

  constructor(
    private readonly time: VirtualTime,
    readonly url: string,
    readonly arn: string,
    /** The queue's visibility timeout (s): a received message is in flight this long unless changed. */
    private readonly visibilitySeconds: number,
  ) {
    this.sent = new PerSecond(time);
  }

  send(entries: ReadonlyArray<{ MessageBody: string; MessageGroupId?: string; MessageDeduplicationId?: string }>): void {
    for (const entry of entries) {
      const dedupId = entry.MessageDeduplicationId ?? '';
      const until = this.dedup.get(dedupId);
      if (until !== undefined && until > this.time.now) {
        this.duplicatesDropped++;
        continue;
      }
      this.dedup.set(dedupId, this.time.now + 300_000);
      const groupId = entry.MessageGroupId ?? 'default';
      const id = `m${this.sequence++}`;
      const message: QueuedMessage = { id, body: entry.MessageBody, groupId, dedupId, sentAt: this.time.now, receiveCount: 0, inFlight: false, receipt: '', visibleAt: 0 };
      let group = this.groups.get(groupId);
      if (!group) this.groups.set(groupId, (group = []));
      group.push(message);
      this.messages++;
      this.sent.add();
      if (group.length === 1) this.markReady(groupId);
    }
    this.onReady();
  }

  get hasReady(): boolean {
    return this.ready.size > 0;
  }

  get depth(): number {
    return this.messages;
  }

  /** Up to `max` messages of the free groups, oldest group first, in order within a group. */
  receive(max: number): QueuedMessage[] {
    const batch: QueuedMessage[] = [];
    for (const groupId of this.ready) {
      if (batch.length >= max) break;
      this.ready.delete(groupId);
      for (const message of this.groups.get(groupId) ?? []) {
        if (batch.length >= max) break;
        message.inFlight = true;
        message.receiveCount++;
        message.firstReceivedAt ??= this.time.now;
        message.receipt = `${message.id}#${message.receiveCount}`;
        message.visibleAt = this.time.now + this.visibilitySeconds * 1000;
        this.byReceipt.set(message.receipt, message);
        batch.push(message);
      }
      this.scheduleExpiry(batch.filter((m) => m.groupId === groupId));
    }
    return batch;
  }

  delete(receipts: readonly string[]): void {
    const touched = new Set<string>();
    for (const receipt of receipts) {
      const message = this.byReceipt.get(receipt);
      if (!message) continue;
      this.byReceipt.delete(receipt);
      const group = this.groups.get(message.groupId) ?? [];
      const index = group.indexOf(message);
      if (index >= 0) group.splice(index, 1);
      this.messages--;
      touched.add(message.groupId);
    }
    for (const groupId of touched) this.refresh(groupId);
  }

  /** ChangeMessageVisibility: in flight for `seconds` more (0 = visible now). */
  changeVisibility(receipt: string, seconds: number): void {
    const message = this.byReceipt.get(receipt);
    if (!message || !message.inFlight) return;
    message.visibleAt = this.time.now + seconds * 1000;
    if (seconds <= 0) {
      message.inFlight = false;
      this.byReceipt.delete(receipt);
      this.refresh(message.groupId);
    } else {
      this.scheduleExpiry([message]);
    }
  }

  toRecord(message: QueuedMessage): SQSRecord {
    return {
      messageId: message.id,
      receiptHandle: message.receipt,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(this.time.epoch + message.sentAt),
        SenderId: 'AROA',
        ApproximateFirstReceiveTimestamp: String(this.time.epoch + (message.firstReceivedAt ?? this.time.now)),
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.dedupId,
        SequenceNumber: message.id.slice(1),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: 'us-east-1',
    };
  }

  private scheduleExpiry(messages: readonly QueuedMessage[]): void {
    for (const message of messages) {
      const due = message.visibleAt;
      this.time.at(due, () => {
        if (message.inFlight && message.visibleAt === due) {
          message.inFlight = false;
          this.byReceipt.delete(message.receipt);
          this.refresh(message.groupId);
          this.onReady();
        }
      });
    }
  }

  private refresh(groupId: string): void {
    const group = this.groups.get(groupId) ?? [];
    if (group.length === 0) {
      this.groups.delete(groupId);
      this.ready.delete(groupId);
      return;
    }
    if (group.some((message) => message.inFlight)) return;
    if (group[0].visibleAt <= this.time.now) this.markReady(groupId);
    else this.time.at(group[0].visibleAt, () => {
      if (!group.some((message) => message.inFlight) && this.groups.get(groupId) === group) {
        this.markReady(groupId);
        this.onReady();
      }
    });
  }

  private markReady(groupId: string): void {
    this.ready.add(groupId);
  }
}

export interface EventSourceOptions {
  readonly maxConcurrency: number;
  readonly batchSize: number;
  /** Concurrent batches when messages first appear. @default 5 */
  readonly initialConcurrency?: number;
  /** Added per minute while messages remain. @default 300 */
  readonly scaleUpPerMinute?: number;
}

export class SqsEventSource {
  private active = 0;
  private scalingFrom: number | undefined;
  readonly receives: PerSecond;
  readonly deleteCalls: PerSecond;
  readonly delivered: PerSecond;
  failedRecords = 0;
  peakActive = 0;

  constructor(
    private readonly time: VirtualTime,
    private readonly queue: SimFifoQueue,
    private readonly pool: EnvironmentPool<(event: SQSEvent) => Promise<SQSBatchResponse>>,
    private readonly options: EventSourceOptions,
  ) {
    this.receives = new PerSecond(time);
    this.deleteCalls = new PerSecond(time);
    this.delivered = new PerSecond(time);
    queue.onReady = () => this.dispatch();
  }

  /** How many batches may run now: 5 at first, +300 a minute while there is work, up to the maximum. */
  allowed(): number {
    if (this.scalingFrom === undefined) this.scalingFrom = this.time.now;
    const minutes = (this.time.now - this.scalingFrom) / 60_000;
    const initial = this.options.initialConcurrency ?? 5;
    return Math.min(this.options.maxConcurrency, Math.floor(initial + minutes * (this.options.scaleUpPerMinute ?? 300)));
  }

  dispatch(): void {
    while (this.queue.hasReady && this.active < this.allowed()) {
      const batch = this.queue.receive(this.options.batchSize);
      if (batch.length === 0) return;
      this.receives.add();
      this.active++;
      this.peakActive = Math.max(this.peakActive, this.active);
      void this.run(batch.map((message) => this.queue.toRecord(message)));
    }
  }

  private async run(records: SQSRecord[]): Promise<void> {
    try {
      const outcome = await this.pool.invoke((handler) => handler({ Records: records }));
      const failed = new Set((outcome?.result.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      if (!outcome) for (const record of records) failed.add(record.messageId);
      const done = records.filter((record) => !failed.has(record.messageId));
      this.failedRecords += failed.size;
      if (done.length > 0) {
        this.deleteCalls.add();
        await this.time.sleep(9);
        this.queue.delete(done.map((record) => record.receiptHandle));
        this.delivered.add(done.length);
      }
      // A throttled invocation leaves the batch in flight until the visibility timeout, as Lambda does.
    } finally {
      this.active--;
      this.dispatch();
    }
  }
}
