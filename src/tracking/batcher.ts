/**
 * Buffers metric points and sends them in batches: when a full request's worth (1000) is pending,
 * every `intervalMs`, and on flush. Sends never overlap and keep order. A batch that fails (after
 * the transport's retries) goes back to the front of the queue, so nothing is dropped: the error
 * is reported by the next flush, which tries again.
 */
import type { MetricDto } from './types.ts';

/** Options of {@link MetricBuffer}. */
export interface MetricBufferOptions {
  /** Pending points that trigger a send. @default 1000 (one full log-batch) */
  readonly maxPending?: number;
  /** Background flush period, ms; 0 disables it. @default 5000 */
  readonly intervalMs?: number;
}

/** An ordered, batching metric queue in front of `sink`. */
export class MetricBuffer {
  private pending: MetricDto[] = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private error: unknown;
  private warned = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPending: number;
  private readonly intervalMs: number;

  constructor(private readonly sink: (metrics: MetricDto[]) => Promise<void>, options: MetricBufferOptions = {}) {
    this.maxPending = options.maxPending ?? 1000;
    this.intervalMs = options.intervalMs ?? 5000;
  }

  /** Points waiting to be sent. */
  get size(): number {
    return this.pending.length;
  }

  /** Queues one point. */
  add(metric: MetricDto): void {
    this.pending.push(metric);
    if (this.pending.length >= this.maxPending) this.kick();
    else if (this.intervalMs > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => { this.timer = undefined; this.kick(); }, this.intervalMs);
      this.timer.unref();
    }
  }

  private kick(): void {
    if (this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    this.chain = this.chain.then(async () => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      if (batch.length === 0) return;
      try {
        await this.sink(batch);
        this.error = undefined;
      } catch (err) {
        this.pending = batch.concat(this.pending); // keep them, in order, for the next try
        this.error = err;
        if (!this.warned) {
          this.warned = true;
          process.stderr.write(`iwpl: sending metrics failed, keeping ${this.pending.length} points for the next flush: ${(err as Error).message}\n`);
        }
      }
    });
  }

  /** Sends everything pending; throws the last send error if points are still unsent. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
    await this.chain;
    this.error = undefined;
    this.kick();
    await this.chain;
    if (this.error !== undefined) {
      const err = this.error;
      this.error = undefined;
      throw err;
    }
  }

  /** Stops the background timer (pending points stay). */
  close(): void {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined; }
  }
}
