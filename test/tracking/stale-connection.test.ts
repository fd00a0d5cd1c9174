/**
 * A keep-alive connection the server closed while this process was blocked (a long synchronous
 * step outlasting the server's idle timeout, so the FIN is still unread when the next request
 * reuses the socket). A real Node server with a 100 ms keep-alive timeout produces it; the client
 * must resend at once on a fresh connection (no back-off), and a create (never re-sent blindly)
 * must report the stale connection so the caller searches at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { MlflowError } from '../../src/tracking/errors.ts';
import { MlflowHttp } from '../../src/tracking/http.ts';

// The server runs in its own process: blocking this one's event loop must not stop its idle timer.
// A minimal HTTP/1.1 keep-alive server that fully closes a connection 100 ms after its last answer,
// as uvicorn (MLflow's server) does after its keep-alive timeout: data arriving later is answered
// by the kernel with a reset and never read.
const SERVER = `
const net = require('node:net');
let posts = 0;
const server = net.createServer((socket) => {
  let buf = Buffer.alloc(0);
  let idle;
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    clearTimeout(idle);
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const len = Number((/content-length: *(\\d+)/i.exec(head) || [0, 0])[1]);
      if (buf.length < end + 4 + len) return;
      buf = buf.subarray(end + 4 + len);
      const body = head.startsWith('GET /posts') ? String(posts) : '{}';
      if (head.startsWith('POST')) posts++;
      socket.write('HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nConnection: keep-alive\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n' + body);
      idle = setTimeout(() => socket.destroy(), 100);
    }
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

async function start(): Promise<{ uri: string; posts: () => Promise<number> }> {
  child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((res, rej) => {
    child!.stdout!.once('data', (d: Buffer) => res(Number(String(d).trim())));
    child!.once('exit', (code) => rej(new Error(`test server exited with ${code}`)));
  });
  const uri = `http://127.0.0.1:${port}`;
  // Counted over a connection of its own (Node's global agent), not the client's pool.
  const posts = async (): Promise<number> => Number(await (await fetch(`${uri}/posts`)).text());
  return { uri, posts };
}

/** Blocks the event loop (as a synchronous tfjs step does) for `ms`. */
const blockFor = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// Back-off far longer than the test's bound: a resend that waited for it would fail the timing check.
const retry = { maxRetries: 3, backoffFactorMs: 5000, jitterMs: 0, maxBackoffMs: 60_000 };

describe('stale keep-alive connections', () => {
  it('a retryable request on a connection closed while the loop was blocked is resent at once', async () => {
    const { uri, posts } = await start();
    const http = new MlflowHttp({ uri, retry });
    await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/log-batch', json: { a: 1 } });
    blockFor(400);
    const t0 = performance.now();
    await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/log-batch', json: { a: 2 } });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(http.stats.retries).toBe(1); // the stale write, resent on a new connection
    expect(await posts()).toBe(2); // the server read each request once
  });

  it('a create (retry: false) fails at once, flagged as a stale connection, and the server never read it', async () => {
    const { uri, posts } = await start();
    const http = new MlflowHttp({ uri, retry });
    await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/create', json: {}, retry: false });
    blockFor(400);
    const err = await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/create', json: {}, retry: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).staleConnection).toBe(true);
    expect(await posts()).toBe(1);
    await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/create', json: {}, retry: false }); // a fresh connection works
    expect(await posts()).toBe(2);
  });
});
