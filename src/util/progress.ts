/**
 * Progress reporting for long work: a redrawn bar with rate and ETA on a TTY, a plain line every
 * `intervalMs` otherwise (logs, CI, Slurm). Writes to stderr so stdout stays machine-readable.
 */

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is being done, e.g. "features Flowers102". */
  readonly label: string;
  /** Total units, or undefined when unknown (no ETA then). */
  readonly total?: number | undefined;
  /** Unit name shown with the rate. @default "it" */
  readonly unit?: string;
  /** Where to write. @default process.stderr */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Minimum time between non-TTY lines. @default 10000 */
  readonly intervalMs?: number;
  /** Formats a count (e.g. bytes as MiB). @default String */
  readonly format?: (n: number) => string;
}

/** A running progress report. */
export interface Progress {
  /** Adds `n` done units. */
  tick(n?: number): void;
  /**
   * Sets the absolute count done. `notByThisRun` (optional) says how many of those were found done
   * (resumed from a checkpoint, read from a cache): counted, but not in the rate. Omitted, the last
   * value given stays.
   */
  set(done: number, notByThisRun?: number): void;
  /** Ends the report with a final line. */
  done(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * Starts a progress report.
 * @example const p = createProgress({ label: 'download RN50', total: bytes, unit: 'B' }); p.tick(n); p.done();
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'it';
  const fmt = options.format ?? ((n: number) => String(n));
  const interval = options.intervalMs ?? 10_000;
  const tty = Boolean((stream as { isTTY?: boolean }).isTTY);
  const start = Date.now();
  let count = 0;
  let startCount = 0; // units not done by this run (resumed, cached): excluded from the rate
  let lastDraw = 0;

  const line = (): string => {
    const elapsed = (Date.now() - start) / 1000;
    const rate = elapsed > 0 ? (count - startCount) / elapsed : 0;
    const total = options.total;
    const rateText = `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(2)} ${unit}/s`;
    if (total === undefined || total <= 0) return `${options.label}: ${fmt(count)} ${unit} | ${rateText} | ${formatSeconds(elapsed)}`;
    const frac = Math.min(1, count / total);
    const eta = rate > 0 ? (total - count) / rate : Infinity;
    const pct = `${(frac * 100).toFixed(1).padStart(5)}%`;
    const text = `${fmt(count)}/${fmt(total)} ${unit} | ${rateText} | ETA ${formatSeconds(eta)}`;
    if (!tty) return `${options.label}: ${pct} ${text}`;
    const width = Math.max(10, Math.min(40, ((stream as { columns?: number }).columns ?? 80) - options.label.length - text.length - 12));
    const filled = Math.round(frac * width);
    return `${options.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct} ${text}`;
  };
  const draw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastDraw < (tty ? 100 : interval)) return;
    lastDraw = now;
    stream.write(tty ? `\r\x1b[2K${line()}` : `${line()}\n`);
  };
  draw(true);
  return {
    tick(n = 1) { count += n; draw(false); },
    set(done, notByThisRun) { if (notByThisRun !== undefined) startCount = notByThisRun; count = done; draw(false); },
    done() { draw(true); if (tty) stream.write('\n'); },
  };
}
