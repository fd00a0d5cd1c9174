/**
 * Decode + CLIP resize/crop on worker threads, so image preprocessing uses every core: decoding
 * (sharp) and the Pillow-exact bicubic resize + crop (src/image/resample.ts, plain JavaScript) of a
 * 500×375 JPEG take ~10–15 ms of CPU, ~1.3× Pillow's (bench:data: sharp's JPEG decode is ~2× slower
 * than Pillow's), so on two cores we outrun one Pillow process. Results are bit-identical to
 * {@link clipResizeCrop} on the calling thread (same code, run elsewhere).
 *
 * Workers load the TypeScript sources through tsx's loader (as bin/iwpl.js does) and are unref'd,
 * so an idle pool never keeps the process alive; {@link PreprocessPool.close} ends them. Each worker
 * holds at most {@link IN_FLIGHT_PER_WORKER} jobs (one decoding in libuv's pool while one resizes on
 * the worker's thread); the rest wait here, so a batch of thousands of paths neither decodes all at
 * once (memory) nor oversubscribes the cores.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../image/types.ts';
import { UserError } from '../util/errors.ts';
import type { PreprocessOptions } from './preprocess.ts';
import type { PreprocessJob, PreprocessReply } from './preprocess-worker.ts';

/** The worker module beside this one, with this file's extension (.ts from source, .js when built). */
const WORKER_URL = new URL(`./preprocess-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
/** Worker entry: tsx's loader first when running from TypeScript sources. */
const BOOT = WORKER_URL.endsWith('.ts')
  ? `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })`
  : `import(${JSON.stringify(WORKER_URL)})`;

/** Jobs sent to one worker before its answers come back: its decode overlaps its resize. */
const IN_FLIGHT_PER_WORKER = 2;

interface Pending {
  resolve(img: RgbImage): void;
  reject(err: Error): void;
}

interface Queued extends Pending {
  readonly job: Omit<PreprocessJob, 'id'>;
}

interface Slot {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  busy: number;
}

/** A fixed set of worker threads that run {@link clipResizeCrop} on image files. */
export class PreprocessPool {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending & { readonly slot: Slot }>();
  private readonly queue: Queued[] = [];
  private nextId = 0;
  private closed = false;

  /** @param workers number of threads. @default the number of CPUs */
  constructor(readonly workers: number = availableParallelism()) {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be an integer ≥ 1, got ${workers}`);
    this.slots = Array.from({ length: workers }, () => this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(BOOT, { eval: true });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    ready.catch(() => undefined); // reported by the first job sent to it
    worker.on('message', (m: PreprocessReply | { ready: true }) => {
      if ('ready' in m) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      slot.busy--;
      this.dispatch();
      if ('error' in m) p.reject(m.userError ? new UserError(m.error) : new Error(m.error));
      else p.resolve({ width: m.width, height: m.height, mode: 'RGB', channels: 3, data: m.data });
    });
    worker.on('error', (err) => {
      for (const [id, p] of this.pending) { this.pending.delete(id); p.slot.busy--; p.reject(err); }
    });
    const slot: Slot = { worker, ready, busy: 0 };
    return slot;
  }

  /**
   * `clipResizeCrop(await decodeImage(path), size, options)` on the least busy worker (queued while
   * every worker has its jobs).
   * @throws UserError naming the file when it is missing or cannot be decoded (as on the main thread)
   */
  async resizeCrop(path: string, size: number, options: PreprocessOptions = {}): Promise<RgbImage> {
    if (this.closed) throw new Error('PreprocessPool is closed');
    return new Promise<RgbImage>((resolve, reject) => {
      this.queue.push({ job: { path, size, options }, resolve, reject });
      this.dispatch();
    });
  }

  /** Sends queued jobs, in order, to workers with room. */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      if (slot.busy >= IN_FLIGHT_PER_WORKER) return;
      const { job, resolve, reject } = this.queue.shift()!;
      slot.busy++;
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, slot });
      // a worker that failed to start rejects here, and its jobs through its 'error' handler
      slot.ready.then(() => slot.worker.postMessage({ id, ...job } satisfies PreprocessJob), (err: Error) => {
        if (this.pending.delete(id)) { slot.busy--; reject(err); }
      });
    }
  }

  /** Ends the workers; jobs still running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    const closed = new Error('PreprocessPool closed');
    for (const [id, p] of this.pending) { this.pending.delete(id); p.reject(closed); }
    for (const q of this.queue.splice(0)) q.reject(closed);
  }
}
