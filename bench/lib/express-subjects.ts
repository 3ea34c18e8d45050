/**
 * The three things bench:express compares on the same Redis, behind one small interface:
 * - `raw`: Redis Streams with no lane logic (XADD, XREADGROUP COUNT, XACK in ioredis): the physical limit;
 * - `bullmq`: BullMQ Queue + Worker with a no-op processor (its default job options);
 * - `lane`: sagalane's ExpressClient + ExpressWorker, with any task type (the no-op `echo`, or a real agent).
 * Consumers run in the bench process, as for all three, so they share the same CPU budget.
 */
import Redis from 'ioredis';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { ExpressClient, ExpressWorker, type ExpressWorkerOptions, type TaskType } from '../../src/lane';
import type { Entry } from '../../src/lane/entries';
import { createLogger } from '../../src/logger';
import { deleteMatching } from './redis-keys';

export interface ExpressSubject {
  readonly name: string;
  /** Starts the consumer side with `concurrency` tasks at a time. */
  start(concurrency: number): Promise<void>;
  /** Submits one task and resolves when its result is stored (and, where the system has one, returned). */
  roundTrip(): Promise<void>;
  /** Submits `n` tasks without waiting for them. */
  enqueue(n: number): Promise<void>;
  /** Tasks finished by the consumer since start. */
  completed(): number;
  /** Stops the consumer and removes every key this subject wrote. */
  stop(): Promise<void>;
}

const PAYLOAD = { message: 'benchmark' };

export class RawStreamsSubject implements ExpressSubject {
  readonly name = 'raw Redis Streams';
  private readonly producer: Redis;
  private readonly reader: Redis;
  private readonly acker: Redis;
  private readonly stream: string;
  private readonly waiters = new Map<string, () => void>();
  private done = 0;
  private nextKey = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.producer = new Redis(redisUrl, { enableAutoPipelining: true });
    this.reader = new Redis(redisUrl);
    this.acker = new Redis(redisUrl, { enableAutoPipelining: true });
    this.stream = `${prefix}:raw`;
  }

  async start(concurrency: number): Promise<void> {
    await this.producer.del(this.stream);
    await this.producer.xgroup('CREATE', this.stream, 'g', '0', 'MKSTREAM');
    this.running = true;
    this.done = 0;
    this.loop = this.consume(concurrency);
  }

  private async consume(count: number): Promise<void> {
    while (this.running) {
      const reply = (await this.reader.xreadgroup(
        'GROUP',
        'g',
        'c',
        'COUNT',
        count,
        'BLOCK',
        100,
        'STREAMS',
        this.stream,
        '>',
      )) as [string, [string, string[]][]][] | null;
      if (!reply) continue;
      const entries = reply[0]![1];
      const ids = entries.map(([id]) => id);
      // The ack is not awaited before the next read: reads and acks overlap, as a pipelined consumer's would.
      void this.acker.xack(this.stream, 'g', ...ids).then(() => {
        this.done += ids.length;
        for (const [, fields] of entries) {
          const key = fields[1]!;
          const wake = this.waiters.get(key);
          if (wake) {
            this.waiters.delete(key);
            wake();
          }
        }
      });
    }
  }

  async roundTrip(): Promise<void> {
    const key = String(this.nextKey++);
    const finished = new Promise<void>((resolve) => this.waiters.set(key, resolve));
    await this.producer.xadd(this.stream, '*', 'k', key, 'payload', JSON.stringify(PAYLOAD));
    await finished;
  }

  async enqueue(n: number): Promise<void> {
    const p = this.producer.pipeline();
    const payload = JSON.stringify(PAYLOAD);
    for (let i = 0; i < n; i++) p.xadd(this.stream, '*', 'k', '-', 'payload', payload);
    await p.exec();
  }

  completed(): number {
    return this.done;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.producer.del(this.stream);
    await deleteMatching(this.producer, `${this.prefix}*`);
    this.waiters.clear();
  }

  async close(): Promise<void> {
    for (const r of [this.producer, this.reader, this.acker]) r.disconnect();
  }
}

export class BullMqSubject implements ExpressSubject {
  readonly name = 'BullMQ';
  private queue?: Queue;
  private worker?: Worker;
  private events?: QueueEvents;
  private done = 0;
  private readonly connection: { host: string; port: number; maxRetriesPerRequest: null };
  private run = 0;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    const url = new URL(redisUrl);
    this.connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  }

  async start(concurrency: number): Promise<void> {
    const name = `q${this.run++}`;
    const opts = { connection: this.connection, prefix: this.prefix };
    this.done = 0;
    this.queue = new Queue(name, opts);
    this.events = new QueueEvents(name, opts);
    // Every waitUntilFinished listens on both; hundreds in flight are expected here.
    this.queue.setMaxListeners(0);
    this.events.setMaxListeners(0);
    this.worker = new Worker(name, async () => null, { ...opts, concurrency });
    this.worker.on('completed', () => this.done++);
    this.worker.on('error', () => undefined);
    await Promise.all([
      this.queue.waitUntilReady(),
      this.events.waitUntilReady(),
      this.worker.waitUntilReady(),
    ]);
  }

  async roundTrip(): Promise<void> {
    const job = await this.queue!.add('noop', PAYLOAD);
    await job.waitUntilFinished(this.events!);
  }

  async enqueue(n: number): Promise<void> {
    await this.queue!.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: PAYLOAD })));
  }

  completed(): number {
    return this.done;
  }

  async stop(): Promise<void> {
    await this.worker?.close(true);
    await this.events?.close();
    await this.queue?.obliterate({ force: true }).catch(() => undefined);
    await this.queue?.close();
  }

  async close(redis: Redis): Promise<void> {
    await deleteMatching(redis, `${this.prefix}:*`);
  }
}

/**
 * Standard-lane work kept going behind the measured tasks: `backlog` tasks of `type` kept waiting (topped up every
 * 50 ms), e.g. CPU-bound `hash` tasks saturating the standard lane while express latency is measured.
 */
export interface BackgroundLoad {
  type: TaskType;
  payload: unknown;
  backlog: number;
}

/**
 * One traced round trip (performance.now() ms of this process; the worker runs in it too). Phases: submit
 * (`submitted - called`), read (`delivered - submitted`: the worker's read bringing the entry), dispatch
 * (`started - delivered`: waiting in the worker's buffer for a slot, and the handler call),
 * run+write (`stored - started`: handler, the completion batch's setImmediate, COMPLETE's round trip), notify
 * (`published - stored`), fetch (`resolved - published`: the client's wake-up and its HGETALL).
 */
export interface RoundTripTrace {
  called: number;
  submitted: number;
  /** When the worker's read reply carrying the entry was buffered (before dispatch). */
  delivered?: number;
  started?: number;
  stored?: number;
  published?: number;
  resolved: number;
}

export interface LaneSubjectOptions {
  /** Standard-lane load running during every measurement. @defaultValue none */
  background?: BackgroundLoad;
  /** Worker with its default options (autoscaler, reserve) instead of a fixed concurrency. @defaultValue false */
  defaultWorker?: boolean;
  /** Worker options over the subject's (e.g. janitor or keepalive off, for an A/B). */
  workerOverrides?: Partial<ExpressWorkerOptions>;
  /**
   * Time each round trip's phases (`traces()`): the handler is wrapped to note its start, the worker's
   * `task:succeeded` notes the stored outcome, and a subscriber of the bench's own notes the completion message.
   * @defaultValue false
   */
  trace?: boolean;
}

export class LaneSubject implements ExpressSubject {
  private client?: ExpressClient;
  private worker?: ExpressWorker;
  private done = 0;
  private run = 0;
  private backgroundLoop?: Promise<void>;
  private backgroundOn = false;

  /** `payload(i)` makes the i-th task's payload (distinct payloads keep agent caches honest). */
  constructor(
    readonly name: string,
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly taskType: TaskType,
    private readonly payload: (i: number) => unknown,
    private readonly o: LaneSubjectOptions = {},
  ) {}

  private submitted = 0;
  /** Per task id, while tracing: when its handler started, its outcome was stored, its completion was published. */
  private readonly marks = new Map<
    string,
    { submitted?: number; delivered?: number; started?: number; stored?: number; published?: number }
  >();
  private readonly traced: RoundTripTrace[] = [];
  private traceSubscriber?: Redis;

  /** Round trips traced since the last `start()` (with `trace`). */
  traces(): RoundTripTrace[] {
    return this.traced;
  }

  private mark(
    taskId: string,
    phase: 'submitted' | 'delivered' | 'started' | 'stored' | 'published',
    at: number,
  ): void {
    const m = this.marks.get(taskId);
    if (m) m[phase] = at;
    else this.marks.set(taskId, { [phase]: at });
  }

  /** The task type with its handler noting when it starts (tracing). */
  private tracedType(): TaskType {
    const t = this.taskType;
    if (!this.o.trace || !t.handler) return t;
    const handler = t.handler;
    return {
      ...t,
      handler: (payload, ctx) => {
        this.mark(ctx.taskId, 'started', performance.now());
        return handler(payload, ctx);
      },
    };
  }

  /** Keepalive calls and entries refreshed by the current worker (for the keepalive cost). */
  keepaliveCounts(): { calls: number; ids: number } {
    return this.worker?.keepaliveCounts ?? { calls: 0, ids: 0 };
  }

  async start(concurrency: number): Promise<void> {
    const keyPrefix = `${this.prefix}:r${this.run++}`;
    this.done = 0;
    this.traced.length = 0;
    this.marks.clear();
    const measured = this.tracedType();
    const types = this.o.background ? [measured, this.o.background.type] : [measured];
    this.client = new ExpressClient({ types, redisUrl: this.redisUrl, keyPrefix });
    this.worker = new ExpressWorker({
      types,
      redisUrl: this.redisUrl,
      keyPrefix,
      ...(this.o.defaultWorker
        ? {}
        : {
            // Fixed concurrency: the autoscaler would otherwise move it during a measurement.
            concurrency: { min: concurrency, max: concurrency },
            autoscaleIntervalMs: 0,
            expressReserve: 0,
          }),
      ...this.o.workerOverrides,
      logger: createLogger('error'),
    });
    this.worker.on('task:succeeded', (e) => {
      if (e.type !== this.taskType.name) return;
      this.done++;
      if (this.o.trace) this.mark(e.taskId, 'stored', performance.now());
    });
    if (this.o.trace) {
      // SUBMIT's reply, as the client reads it (before the waiting part of submitAndWait).
      this.client.on('task:submitted', (e) => this.mark(e.taskId, 'submitted', performance.now()));
      const sub = new Redis(this.redisUrl);
      this.traceSubscriber = sub;
      sub.on('message', (_channel: string, ids: string) => {
        const at = performance.now();
        for (const id of ids.split(',')) this.mark(id, 'published', at);
      });
      await sub.subscribe(this.client.keys.completions(this.taskType.name));
      // Bench-only hook on the worker's reader (private): when each read reply's entries are buffered.
      const reader = (this.worker as unknown as { reader: { buffer(e: Entry): void } }).reader;
      const buffer = reader.buffer.bind(reader);
      reader.buffer = (e: Entry) => {
        if (e.stream.type.name === this.taskType.name && e.fields.id)
          this.mark(e.fields.id, 'delivered', performance.now());
        buffer(e);
      };
    }
    await this.worker.start();
    if (this.o.background) this.startBackground(this.o.background);
  }

  private startBackground(bg: BackgroundLoad): void {
    this.backgroundOn = true;
    const client = this.client!;
    this.backgroundLoop = (async () => {
      while (this.backgroundOn) {
        const [, standard] = await client.stats([bg.type.name]);
        const missing = bg.backlog - (standard?.length ?? 0);
        if (missing > 0)
          await client.submitMany(
            Array.from({ length: missing }, () => ({ type: bg.type.name, payload: bg.payload })),
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  /** Submits and waits in one call (`submitAndWait`: its wait is registered first, so one read of the record). */
  async roundTrip(): Promise<void> {
    const called = performance.now();
    const info = await this.client!.submitAndWait({
      type: this.taskType.name,
      payload: this.payload(this.submitted++),
    });
    if (info.status !== 'succeeded')
      throw new Error(`task ${info.taskId} ended ${info.status}: ${info.error}`);
    if (this.o.trace) {
      const m = this.marks.get(info.taskId);
      this.marks.delete(info.taskId);
      if (m?.submitted !== undefined)
        this.traced.push({ called, ...m, submitted: m.submitted, resolved: performance.now() });
    }
  }

  async enqueue(n: number): Promise<void> {
    const requests = Array.from({ length: n }, () => ({
      type: this.taskType.name,
      payload: this.payload(this.submitted++),
    }));
    await this.client!.submitMany(requests);
  }

  completed(): number {
    return this.done;
  }

  async stop(): Promise<void> {
    this.backgroundOn = false;
    await this.backgroundLoop;
    await this.worker?.stop();
    await this.client?.close();
    this.traceSubscriber?.disconnect();
    this.traceSubscriber = undefined;
  }

  async close(redis: Redis): Promise<void> {
    await deleteMatching(redis, `${this.prefix}:*`);
  }
}
