/**
 * `iwpl data download` as a user runs it (the real CLI in a child process, the built-in source
 * table with its pinned checksums), against loopback servers: one-line failures for an unreachable
 * host, a 404, a mirror's web page, a file that is not the pinned one; flags checked.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET_SOURCES } from '../../src/data/download-sources.ts';
import { FileServer, buildArchives } from '../data/download-fixtures.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HINT = 'a mirror serving <url>/<dataset folder>/<file> can be given with --base-url or IWPL_DATA_BASE_URL, or files already downloaded with --from DIR';

let src: string;
let server: FileServer;
let root: string;

function iwpl(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/iwpl.js'), ...args], { cwd: REPO, env: { ...process.env, IWPL_DATA_BASE_URL: '', ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line of stderr (the error; progress and status lines come before it). */
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

beforeAll(async () => {
  src = mkdtempSync(join(tmpdir(), 'iwpl-dlcli-src-'));
  buildArchives(src);
  server = await new FileServer(src).start();
});
afterAll(async () => {
  await server.close();
  rmSync(src, { recursive: true, force: true });
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'iwpl-dlcli-root-'));
  server.plan.clear();
  return () => rmSync(root, { recursive: true, force: true });
});

describe('iwpl data download', () => {
  it('an unreachable host: one line naming it and the mirror option (flag or environment)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await iwpl(['data', 'download', 'fgvc_aircraft', '--root', root, '--base-url', `http://127.0.0.1:${port}`, '--retries', '0']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe(`iwpl: http://127.0.0.1:${port}/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED) (1 attempt); check the network, or ${HINT}, or put a copy of the dataset in CoOp's layout at ${join(root, 'fgvc_aircraft')}`);
    expect(r.stdout).toBe('');
    expect(readdirSync(root)).toEqual([]);
    const env = await iwpl(['data', 'download', 'fgvc_aircraft', '--root', root, '--retries', '0'], { IWPL_DATA_BASE_URL: `http://127.0.0.1:${port}/` });
    expect(lastLine(env.stderr)).toContain(`http://127.0.0.1:${port}/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: cannot reach the server`);
  });

  it('a 404 names the address and the mirror option; nothing is left behind', async () => {
    const r = await iwpl(['data', 'download', 'aircraft', '--root', root, '--base-url', `${server.url}/nothing-here`, '--retries', '0']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe(`iwpl: ${server.url}/nothing-here/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: HTTP 404 Not Found (the server answered with an error; ${HINT})`);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a web page in place of a split file says where to get it by hand and how to pass it', async () => {
    server.plan.set('/oxford_pets/split_zhou_OxfordPets.json', ['html']);
    const r = await iwpl(['data', 'download', 'oxford_pets', '--root', root, '--base-url', server.url, '--retries', '0']);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe(`iwpl: ${server.url}/oxford_pets/split_zhou_OxfordPets.json answered with a web page instead of split_zhou_OxfordPets.json; check the address, `
      + 'or download it by hand from https://drive.google.com/file/d/1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs/view and pass --from <its folder>');
    expect(readdirSync(root)).toEqual([]);
  });

  it('a file that is not the pinned one is refused, named with both hashes, and deleted', async () => {
    // the mirror serves the Drive files (not pinned) and a 502-byte imagelabels.mat that is not the real one
    const wrong = Buffer.alloc(502, 7);
    writeFileSync(join(src, 'oxford_flowers', 'imagelabels.mat'), wrong);
    const r = await iwpl(['data', 'download', 'flowers102', '--root', root, '--base-url', server.url, '--retries', '0']);
    expect(r.code).toBe(1);
    const sha = createHash('sha256').update(wrong).digest('hex');
    expect(lastLine(r.stderr)).toBe(`iwpl: ${server.url}/oxford_flowers/imagelabels.mat: SHA-256 mismatch: expected ${DATASET_SOURCES.OxfordFlowers!.files[2]!.sha256}, got ${sha} (502 B); the download was deleted`);
    expect(existsSync(join(root, 'oxford_flowers'))).toBe(false);
    expect(readdirSync(join(root, '.oxford_flowers.download')).filter((f) => f.startsWith('imagelabels'))).toEqual([]);
    // what was installed stays for the next run (the split files), the check never ran
    expect(readdirSync(join(root, '.oxford_flowers.partial', 'oxford_flowers')).sort()).toEqual(['cat_to_name.json', 'split_zhou_OxfordFlowers.json']);
    // the same file given with --from: named, left alone
    const from = join(root, 'from');
    mkdirSync(from);
    writeFileSync(join(from, 'imagelabels.mat'), wrong);
    const f = await iwpl(['data', 'download', 'oxford_flowers', '--root', root, '--from', from, '--base-url', server.url]);
    expect(lastLine(f.stderr)).toBe(`iwpl: ${join(from, 'imagelabels.mat')} (--from): SHA-256 mismatch: expected ${DATASET_SOURCES.OxfordFlowers!.files[2]!.sha256}, got ${sha} (502 B); it is not the imagelabels.mat this dataset needs (TFDS url_checksums/oxford_flowers102.txt)`);
    expect(existsSync(join(from, 'imagelabels.mat'))).toBe(true);
  });

  it('checks its flags and the dataset name before fetching anything', async () => {
    const bad = await iwpl(['data', 'download', 'oxford_pets', '--root', root, '--retries', 'x']);
    expect(bad.code).toBe(1);
    expect(lastLine(bad.stderr)).toBe('iwpl: --retries must be an integer >= 0 (got "x")');
    const none = await iwpl(['data', 'download', 'imagenet', '--root', root]);
    expect(lastLine(none.stderr)).toBe('iwpl: no download is known for ImageNet (available: OxfordPets, OxfordFlowers, Caltech101, FGVCAircraft); set it up by hand as CoOp\'s DATASETS.md says and run iwpl data check');
    expect(readdirSync(root)).toEqual([]);
    const help = await iwpl(['data', 'download', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--base-url <url>');
    expect(help.stdout).toContain('--from <dir>');
  });
});
