/**
 * The shared transfer (io/http-download) where the CLIP-asset and dataset tests do not reach:
 * size-only pins, no pin at all, a server that announces no length, a `.part` already complete
 * (416), and the structured failure kinds callers branch on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DownloadError, downloadFile, mismatch } from '../../src/io/http-download.ts';

const CONTENT = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
let server: Server;
let base: string;
let tmp: string;
let ranges: (string | undefined)[];

const quiet = { progressStream: new Writable({ write(_c, _e, cb) { cb(); } }), retryDelayMs: 0, retries: 0 };

beforeAll(async () => {
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    if (req.url === '/chunked') { res.writeHead(200); res.write(CONTENT.subarray(0, 1000)); res.end(CONTENT.subarray(1000)); return; } // no Content-Length
    if (req.url === '/gone') { res.writeHead(410, 'Gone').end(); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= CONTENT.length) { res.writeHead(416, { 'Content-Range': `bytes */${CONTENT.length}` }).end(); return; }
    res.writeHead(start > 0 ? 206 : 200, { 'Content-Length': String(CONTENT.length - start), ...(start > 0 ? { 'Content-Range': `bytes ${start}-${CONTENT.length - 1}/${CONTENT.length}` } : {}) });
    res.end(CONTENT.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-http-'));
  ranges = [];
  return () => rmSync(tmp, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('with no pin keeps whatever arrived, and reuses an existing file without asking the server', async () => {
    const dest = join(tmp, 'a.bin');
    const r = await downloadFile(`${base}/file`, dest, {}, quiet);
    expect(r).toEqual({ path: dest, bytes: CONTENT.length, reused: false, resumedFrom: 0 });
    expect(readFileSync(dest).equals(CONTENT)).toBe(true);
    expect((await downloadFile(`${base}/file`, dest, {}, quiet)).reused).toBe(true);
    expect(ranges).toEqual([undefined]);
  });

  it('checks a size-only pin after a transfer of unannounced length, deleting a wrong file', async () => {
    const dest = join(tmp, 'b.bin');
    const err = await downloadFile(`${base}/chunked`, dest, { size: 123 }, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toBe('mismatch');
    expect((err as Error).message).toBe(`${base}/chunked: size mismatch: expected 123 bytes, got ${CONTENT.length}; the download was deleted`);
    expect(readdirSync(tmp)).toEqual([]);
    const ok = await downloadFile(`${base}/chunked`, dest, { size: CONTENT.length }, quiet);
    expect(ok.bytes).toBe(CONTENT.length);
  });

  it('refuses before the transfer when the announced size is not the pinned one', async () => {
    const err = await downloadFile(`${base}/file`, join(tmp, 'c.bin'), { size: 5 }, { ...quiet, mirrorHint: 'try --base-url' }).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('mismatch');
    expect((err as Error).message).toBe(`${base}/file: the server offers ${CONTENT.length} bytes, expected 5 (5 B): not the file this download is pinned to; try --base-url`);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('finishes a .part that already holds the whole file (416 to its Range), then checks it', async () => {
    const dest = join(tmp, 'd.bin');
    writeFileSync(`${dest}.part`, CONTENT);
    const r = await downloadFile(`${base}/file`, dest, { size: CONTENT.length }, quiet);
    expect(ranges).toEqual([`bytes=${CONTENT.length}-`]);
    expect(r.resumedFrom).toBe(CONTENT.length);
    expect(readdirSync(tmp)).toEqual(['d.bin']);
  });

  it('says what kind of failure it was: http (with the status) or unreachable', async () => {
    const gone = await downloadFile(`${base}/gone`, join(tmp, 'e'), {}, quiet).catch((e: unknown) => e) as DownloadError;
    expect([gone.failure, gone.status, gone.message]).toEqual(['http', 410, `${base}/gone: HTTP 410 Gone (the server answered with an error)`]);
    const nowhere = await downloadFile('http://iwpl-nowhere.invalid/x', join(tmp, 'f'), {}, quiet).catch((e: unknown) => e) as DownloadError;
    expect(nowhere.failure).toBe('unreachable');
    expect(nowhere.message).toMatch(/cannot reach the server: the name iwpl-nowhere\.invalid could not be resolved \((ENOTFOUND|EAI_AGAIN)\) \(1 attempt\); check the network$/);
  });
});

describe('mismatch', () => {
  it('names a missing file, a wrong size and a wrong SHA-256; nothing for a match', async () => {
    const p = join(tmp, 'g');
    expect(await mismatch(p, {})).toBe('missing');
    writeFileSync(p, 'abc');
    expect(await mismatch(p, { size: 4 })).toBe('size mismatch: expected 4 bytes, got 3');
    expect(await mismatch(p, { sha256: '0'.repeat(64) })).toBe(`SHA-256 mismatch: expected ${'0'.repeat(64)}, got ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (3 B)`);
    expect(await mismatch(p, { size: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' })).toBeUndefined();
  });
});
