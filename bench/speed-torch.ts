/**
 * The PyTorch side of `npm run bench:speed`: bench/ref/torch_speed.py as a child process that
 * answers one JSON line per JSON command, so the bench can interleave its own timings with
 * torch's (on a shared machine the load changes between minutes, not between adjacent calls).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { REPO_ROOT } from './ref-python.ts';

/** One timed call: wall-clock and CPU (all threads of the process) milliseconds. */
export interface Timing {
  readonly ms: number;
  readonly cpu: number;
}

/** One answer of torch_speed.py (`ok` false carries `error`). */
export type TorchReply = Record<string, unknown> & { readonly ok: boolean; readonly error?: string };

/** A running torch_speed.py. */
export class TorchReference {
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  private stderrTail = '';
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-2000); });
    child.on('exit', (code, signal) => {
      this.exited = `torch_speed.py exited (${signal ?? code}): ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
      for (const resolve of this.pending.splice(0)) resolve(JSON.stringify({ ok: false, error: this.exited }));
    });
  }

  /** Starts `python bench/ref/torch_speed.py` with `env` added to this process's environment. */
  static start(python: string, env: Readonly<Record<string, string>>): TorchReference {
    const child = spawn(python, [join(REPO_ROOT, 'bench', 'ref', 'torch_speed.py')], {
      env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new TorchReference(child);
  }

  /** Sends one command and waits for its answer; a failed command throws with torch's message. */
  async send(command: Record<string, unknown>): Promise<TorchReply> {
    if (this.exited) throw new Error(this.exited);
    const line = await new Promise<string>((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
    const reply = JSON.parse(line) as TorchReply;
    if (!reply.ok) throw new Error(`torch_speed.py ${String(command.cmd)}: ${reply.error ?? 'failed'}`);
    return reply;
  }

  /** Times `reps` calls of a timing command: wall and process CPU milliseconds of each. */
  async time(cmd: 'coop_step' | 'encode_image' | 'encode_text' | 'peak', reps: number): Promise<Timing[]> {
    const r = await this.send({ cmd, reps });
    const cpu = r.cpu_ms as number[];
    return (r.ms as number[]).map((ms, i) => ({ ms, cpu: cpu[i]! }));
  }

  /** Asks the process to exit and waits for it. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await done;
  }
}
