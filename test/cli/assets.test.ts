import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { downloadPretrained, formatBytes, MIRROR_HINT } from '../../src/clip/download.ts';
import { PRETRAINED, VOCAB, getPretrained } from '../../src/clip/pretrained.ts';
import { CLIP_CONFIGS } from '../../src/clip/config-registry.ts';
import { UserError } from '../../src/util/errors.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

// A generated "checkpoint" served from loopback, and the table entry that names it by its hash.
const CONTENT = randomBytes(3 * 1024 * 1024 + 123);
const SHA = createHash('sha256').update(CONTENT).digest('hex');
const TABLE = { tiny: { url: 'unused', sha256: SHA, file: 'tiny.pt' }, wrong: { url: 'unused', sha256: 'ab'.repeat(32), file: 'wrong.pt' } };

/** How the server answers the next requests: each request takes the next mode (the last one repeats). */
type Mode = 'normal' | 'drop-half' | 'ignore-range' | 'not-found';
let plan: Mode[] = ['normal'];
let requests: { path: string; range: string | undefined }[] = [];
let server: Server;
let base: string;
let tmp: string;

// The real vocabulary (shared/ beside the repo), served where --base-url puts it.
const VOCAB_BYTES = readFileSync(join(REPO, '..', 'shared', 'clip', 'bpe_simple_vocab_16e6.txt.gz'));

function handle(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ path: req.url ?? '', range: req.headers.range });
  if (req.url === `/${VOCAB.sha256}/${VOCAB.file}`) { res.writeHead(200).end(VOCAB_BYTES); return; }
  const mode = plan.length > 1 ? plan.shift()! : plan[0]!;
  const known = req.url === `/${SHA}/tiny.pt` || req.url === `/${TABLE.wrong.sha256}/wrong.pt` || req.url === `/${PRETRAINED.RN50!.sha256}/RN50.pt`;
  if (mode === 'not-found' || !known) { res.writeHead(404, 'Not Found').end('no'); return; }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = mode !== 'ignore-range' && m ? Number(m[1]) : 0;
  if (start >= CONTENT.length) { res.writeHead(416, { 'Content-Range': `bytes */${CONTENT.length}` }).end(); return; }
  const body = CONTENT.subarray(start);
  res.writeHead(start > 0 ? 206 : 200, {
    'Content-Length': String(body.length),
    ...(start > 0 ? { 'Content-Range': `bytes ${start}-${CONTENT.length - 1}/${CONTENT.length}` } : {}),
  });
  if (mode === 'drop-half') {
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(body);
}

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

async function userError(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-assets-'));
  plan = ['normal'];
  requests = [];
  return () => rmSync(tmp, { recursive: true, force: true });
});

const opts = (extra: object = {}) => ({ dir: tmp, baseUrl: base, table: TABLE, retryDelayMs: 0, progressStream: sink(), ...extra });

describe('downloadPretrained (loopback server)', () => {
  it('downloads, verifies, renames atomically, shows progress, and reuses a verified file', async () => {
    const progress = sink();
    const r = await downloadPretrained('tiny', opts({ progressStream: progress }));
    expect(r).toEqual({ path: join(tmp, 'tiny.pt'), bytes: CONTENT.length, reused: false, resumedFrom: 0 });
    expect(readFileSync(r.path).equals(CONTENT)).toBe(true);
    expect(readdirSync(tmp)).toEqual(['tiny.pt']);
    expect(progress.text()).toMatch(/download tiny\.pt: .*3\.0\/3\.0 MiB/);
    expect(requests).toEqual([{ path: `/${SHA}/tiny.pt`, range: undefined }]);
    const again = await downloadPretrained('tiny', opts());
    expect(again.reused).toBe(true);
    expect(requests.length).toBe(1); // nothing fetched
  });

  it('resumes with a Range request after the server drops the connection midway', async () => {
    plan = ['drop-half', 'normal'];
    const r = await downloadPretrained('tiny', opts({ retries: 2 }));
    expect(readFileSync(r.path).equals(CONTENT)).toBe(true);
    expect(requests.length).toBe(2);
    expect(requests[0]!.range).toBeUndefined();
    // resumes from what arrived (at most the half the server sent before dropping)
    const from = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(Math.floor(CONTENT.length / 2));
  });

  it('keeps the .part after the retries run out, and the next run resumes it', async () => {
    plan = ['drop-half', 'normal'];
    const err = await userError(downloadPretrained('tiny', opts({ retries: 0 })));
    expect(err.message).toMatch(/tiny\.pt: download interrupted .*kept in .*tiny\.pt\.part: run the command again to resume/);
    const kept = readFileSync(join(tmp, 'tiny.pt.part'));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(Math.floor(CONTENT.length / 2));
    expect(kept.equals(CONTENT.subarray(0, kept.length))).toBe(true);
    expect(existsSync(join(tmp, 'tiny.pt'))).toBe(false);
    const r = await downloadPretrained('tiny', opts({ retries: 0 }));
    expect(r.resumedFrom).toBe(kept.length);
    expect(requests[1]!.range).toBe(`bytes=${kept.length}-`);
    expect(readFileSync(r.path).equals(CONTENT)).toBe(true);
    expect(readdirSync(tmp)).toEqual(['tiny.pt']);
  });

  it('starts over when the server ignores Range', async () => {
    writeFileSync(join(tmp, 'tiny.pt.part'), Buffer.alloc(5000, 7)); // not even a prefix of the file
    plan = ['ignore-range'];
    const r = await downloadPretrained('tiny', opts());
    expect(requests[0]!.range).toBe('bytes=5000-');
    expect(readFileSync(r.path).equals(CONTENT)).toBe(true);
  });

  it('deletes a download whose SHA-256 does not match and names both hashes', async () => {
    const err = await userError(downloadPretrained('wrong', opts()));
    expect(err.message).toContain(`SHA-256 mismatch: expected ${'ab'.repeat(32)}, got ${SHA}`);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('re-downloads over an existing file with the wrong hash', async () => {
    writeFileSync(join(tmp, 'tiny.pt'), 'stale');
    const progress = sink();
    const r = await downloadPretrained('tiny', opts({ progressStream: progress }));
    expect(progress.text()).toContain('exists but its SHA-256 does not match');
    expect(readFileSync(r.path).equals(CONTENT)).toBe(true);
  });

  it('tells an HTTP error from an unreachable host (refused, name not resolved, no answer), naming the mirror settings', async () => {
    plan = ['not-found'];
    expect((await userError(downloadPretrained('tiny', opts()))).message)
      .toBe(`${base}/${SHA}/tiny.pt: HTTP 404 Not Found (the server answered with an error; ${MIRROR_HINT})`);
    expect(readdirSync(tmp)).toEqual([]);
    const closedServer = createServer();
    await new Promise<void>((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
    const port = (closedServer.address() as AddressInfo).port;
    await new Promise((resolve) => closedServer.close(resolve));
    // nothing received: "retrying", never "resuming"
    const progress = sink();
    const closed = await userError(downloadPretrained('tiny', opts({ baseUrl: `http://127.0.0.1:${port}`, retries: 1, progressStream: progress })));
    expect(closed.message).toBe(`http://127.0.0.1:${port}/${SHA}/tiny.pt: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED) (2 attempts); check the network, or ${MIRROR_HINT}, or put a copy of tiny.pt in ${tmp} (it is checked by SHA-256)`);
    expect(progress.text()).toBe(`download tiny.pt: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED); retrying (attempt 2 of 2)\n`);
    expect(MIRROR_HINT).toMatch(/--base-url or IWPL_ASSETS_BASE_URL/);
    // .invalid never resolves (RFC 6761)
    const dns = await userError(downloadPretrained('tiny', opts({ baseUrl: 'http://iwpl-mirror.invalid', retries: 0 })));
    expect(dns.message).toMatch(/^http:\/\/iwpl-mirror\.invalid\/.*: cannot reach the server: the name iwpl-mirror\.invalid could not be resolved \((ENOTFOUND|EAI_AGAIN)\) \(1 attempt\); check the network/);
    // a server that accepts the connection and never answers
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sport = (silent.address() as AddressInfo).port;
    try {
      const slow = await userError(downloadPretrained('tiny', opts({ baseUrl: `http://127.0.0.1:${sport}`, retries: 0, answerTimeoutMs: 300 })));
      expect(slow.message).toContain(`cannot reach the server: 127.0.0.1:${sport} did not answer in time (1 attempt)`);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
    expect(readdirSync(tmp)).toEqual([]);
    expect((await userError(downloadPretrained('RN42', opts()))).message).toMatch(/no checkpoint named 'RN42' \(known: tiny, wrong\)/);
  });

  it('says "resuming from" when part of the file arrived', async () => {
    plan = ['drop-half', 'normal'];
    const progress = sink();
    await downloadPretrained('tiny', opts({ retries: 1, progressStream: progress }));
    expect(progress.text()).toMatch(/download tiny\.pt: .* after [\d.]+ MiB; resuming from [\d.]+ MiB \(attempt 2 of 2\)\n/);
  });

  it('removes a download folder it created when nothing was kept', async () => {
    const dir = join(tmp, 'new', 'deeper');
    plan = ['not-found'];
    await userError(downloadPretrained('tiny', opts({ dir })));
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('pretrained table', () => {
  it('is OpenAI\'s clip._MODELS, one entry per config, hash = URL segment', () => {
    const models = JSON.parse(readFileSync(join(REPO, 'test/fixtures/weights/openai-models.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(PRETRAINED).sort()).toEqual(Object.keys(CLIP_CONFIGS).sort());
    for (const [openaiName, url] of Object.entries(models)) {
      const e = getPretrained(openaiName);
      expect(e.url).toBe(url);
      expect(e.sha256).toBe(url.split('/').at(-2));
      expect(e.file).toBe(url.split('/').at(-1));
    }
    expect(formatBytes(256_000_000)).toBe('244.1 MiB');
  });
});

function iwpl(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('iwpl assets', () => {
  it('lists the nine official checkpoints', async () => {
    writeFileSync(join(tmp, 'RN101.pt'), 'x');
    const r = await iwpl(['assets', 'list', '--dir', tmp]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(10);
    expect(lines.shift()).toMatch(/^NAME +FILE +STATUS +URL$/);
    expect(lines[1]).toMatch(/^RN101 +RN101\.pt +downloaded +https:\/\/openaipublic\.azureedge\.net\/clip\/models\/8fa8567b.*\/RN101\.pt$/);
    expect(lines[0]).toMatch(/^RN50 +RN50\.pt +- +https:/);
  });

  it('download: a file that is not the official RN50 is refused and deleted (--base-url)', async () => {
    const r = await iwpl(['assets', 'download', 'RN50', '--no-vocab', '--dir', tmp, '--base-url', base]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`SHA-256 mismatch: expected ${PRETRAINED.RN50!.sha256}, got ${SHA}`);
    expect(readdirSync(tmp)).toEqual([]);
    expect(requests[0]!.path).toBe(`/${PRETRAINED.RN50!.sha256}/RN50.pt`);
  });

  it('download: fetches the BPE vocabulary (SHA-256 checked) beside the weights, and skips it with --no-vocab', async () => {
    const r = await iwpl(['assets', 'download', 'vocab', '--dir', tmp, '--base-url', base]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(tmp, VOCAB.file));
    expect(createHash('sha256').update(readFileSync(join(tmp, VOCAB.file))).digest('hex')).toBe(VOCAB.sha256);
    const again = await iwpl(['assets', 'download', 'vocab', '--dir', tmp, '--base-url', base]);
    expect(again.stderr).toContain('vocab: already downloaded and verified');
    rmSync(join(tmp, VOCAB.file));
    requests = [];
    const withVocab = await iwpl(['assets', 'download', 'RN50', '--dir', tmp, '--base-url', base]);
    expect(withVocab.code).toBe(1); // the served RN50 is not OpenAI's
    expect(requests.map((q) => q.path)).toEqual([`/${VOCAB.sha256}/${VOCAB.file}`, `/${PRETRAINED.RN50!.sha256}/RN50.pt`]);
    expect(existsSync(join(tmp, VOCAB.file))).toBe(true);
    rmSync(join(tmp, VOCAB.file));
    requests = [];
    const none = await iwpl(['assets', 'download', 'RN50', '--no-vocab', '--dir', tmp, '--base-url', base]);
    expect(none.code).toBe(1);
    expect(requests.map((q) => q.path)).toEqual([`/${PRETRAINED.RN50!.sha256}/RN50.pt`]);
    expect(existsSync(join(tmp, VOCAB.file))).toBe(false);
  });

  it('download: 404 from the server named in IWPL_ASSETS_BASE_URL, and usage errors', async () => {
    const r = await iwpl(['assets', 'download', 'ViT-B/32', '--no-vocab', '--dir', tmp], { IWPL_ASSETS_BASE_URL: `${base}/` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`iwpl: ${base}/${PRETRAINED['ViT-B-32']!.sha256}/ViT-B-32.pt: HTTP 404 Not Found (the server answered with an error; ${MIRROR_HINT})\n`);
    const bad = await iwpl(['assets', 'download', 'RN50', '--dir', tmp, '--retries', 'x']);
    expect(bad.stderr).toContain('--retries must be an integer >= 0 (got "x")');
    const unknown = await iwpl(['assets', 'download', 'RN42', '--dir', tmp]);
    expect(unknown.stderr).toContain("no official checkpoint named 'RN42'");
  });

  it('download offline (the README\'s first command): one line naming the file and where a local copy goes, within seconds, nothing left', async () => {
    const closedServer = createServer();
    await new Promise<void>((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
    const port = (closedServer.address() as AddressInfo).port;
    await new Promise((resolve) => closedServer.close(resolve));
    const dir = join(tmp, 'weights');
    // a refusing host is asked twice whatever --retries says (3 by default): one retry note, then the line
    let t0 = Date.now();
    const refused = await iwpl(['assets', 'download', 'RN50', '--dir', dir, '--base-url', `http://127.0.0.1:${port}`]);
    const refusedMs = Date.now() - t0;
    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      `download ${VOCAB.file}: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED); retrying (attempt 2 of 2)`,
      `iwpl: http://127.0.0.1:${port}/${VOCAB.sha256}/${VOCAB.file}: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED) (2 attempts); `
        + `check the network, or ${MIRROR_HINT}, or put a copy of ${VOCAB.file} in ${dir} (it is checked by SHA-256)`,
    ]);
    expect(refused.stdout).toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(refusedMs).toBeLessThan(30_000); // node's start (seconds on a loaded machine) + one 1 s pause, not 1 + 2 + 4 s of backoff
    // a name that does not resolve (.invalid, RFC 6761; what an offline machine sees) is asked once: the one line alone
    t0 = Date.now();
    const dns = await iwpl(['assets', 'download', 'RN50', '--no-vocab', '--dir', dir, '--base-url', 'http://iwpl-mirror.invalid']);
    expect(dns.code).toBe(1);
    const dnsLines = dns.stderr.trimEnd().split('\n');
    const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(dnsLines.pop()).toMatch(new RegExp(`^iwpl: ${esc(`http://iwpl-mirror.invalid/${PRETRAINED.RN50!.sha256}/RN50.pt: cannot reach the server: the name iwpl-mirror.invalid could not be resolved (`)}`
      + `(ENOTFOUND\\) \\(1 attempt|EAI_AGAIN\\) \\(2 attempts)${esc(`); check the network, or ${MIRROR_HINT}, or put a copy of RN50.pt in ${dir} (it is checked by SHA-256)`)}$`));
    expect(dnsLines.length).toBe(dns.stderr.includes('ENOTFOUND') ? 0 : 1); // a temporary resolver failure (EAI_AGAIN) is asked once more
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(existsSync(dir)).toBe(false);
  });
});
