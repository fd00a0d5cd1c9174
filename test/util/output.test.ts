/**
 * The output-path policy (src/util/output.ts) on real files, FIFOs, devices, symlinks, sockets
 * and folders: what is written in place, what is replaced atomically, and what is refused.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutput, checkOutputFolder, writeOutput, writeOutputFile } from '../../src/util/output.ts';
import { UserError } from '../../src/util/errors.ts';

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-output-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function refused(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

/** Reads a FIFO to its end (the reader must exist before the writer opens it). */
function readFifo(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(path).on('data', (c) => chunks.push(c as Buffer)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
  });
}

describe('checkOutput / writeOutput', () => {
  it('"-" and /dev/stdout write to standard output', async () => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((_d: unknown, cb?: (e?: Error | null) => void) => { cb?.(null); return true; }) as typeof process.stdout.write);
    try {
      for (const p of ['-', '/dev/stdout']) {
        const t = await checkOutput(p, '--output');
        expect(t).toMatchObject({ kind: 'stream', file: '-', description: 'stdout' });
        await writeOutput(t, `to ${p}\n`);
      }
      expect(spy.mock.calls.map((c) => c[0])).toEqual(['to -\n', 'to /dev/stdout\n']);
    } finally {
      spy.mockRestore();
    }
    expect(readdirSync(tmp)).toEqual([]); // no file named "-" anywhere
    expect(await refused(checkOutput('-', '--output', { streams: false }))).toMatch(/^--output -: standard output is already used/);
  });

  it('creates a new regular file (and its missing folders) atomically, replaces an existing one keeping its mode', async () => {
    const path = join(tmp, 'new', 'deep', 'out.json');
    const t = await checkOutput(path, '--output');
    expect(t.kind).toBe('file');
    expect(readdirSync(tmp)).toEqual([]); // checking creates nothing
    await writeOutput(t, '{"v":1}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"v":1}\n');
    chmodSync(path, 0o640);
    const inode = statSync(path).ino;
    await writeOutputFile(path, '{"v":2}\n', '--output');
    expect(readFileSync(path, 'utf8')).toBe('{"v":2}\n');
    expect(statSync(path).ino).not.toBe(inode); // renamed over, not rewritten in place
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(tmp, 'new', 'deep'))).toEqual(['out.json']);
    rmSync(join(tmp, 'new'), { recursive: true });
  });

  it('writes a FIFO in place for its reader, and the FIFO stays a FIFO', async () => {
    const fifo = join(tmp, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const t = await checkOutput(fifo, '--output');
    expect(t).toMatchObject({ kind: 'in-place', description: `${fifo} (named pipe)` });
    const got = readFifo(fifo);
    const payload = `${'x'.repeat(200_000)}\n`; // more than a pipe buffer
    await writeOutput(t, payload);
    expect(await got).toBe(payload);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // through a symlink too: the link stays a link, the FIFO a FIFO
    const link = join(tmp, 'pipe-link');
    symlinkSync(fifo, link);
    const viaLink = readFifo(fifo);
    await writeOutputFile(link, 'via link\n', '--output');
    expect(await viaLink).toBe('via link\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    rmSync(link); rmSync(fifo);
  });

  it('writes /dev/null (and a symlink to it) in place, never renaming over it', async () => {
    const t = await checkOutput('/dev/null', '--output');
    expect(t).toMatchObject({ kind: 'in-place', description: '/dev/null (character device)' });
    await writeOutput(t, 'discarded');
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    const link = join(tmp, 'null-link');
    symlinkSync('/dev/null', link);
    await writeOutputFile(link, 'discarded', '--output');
    expect(readlinkSync(link)).toBe('/dev/null');
    expect(readdirSync(tmp)).toEqual(['null-link']);
    rmSync(link);
  });

  it('follows a symlink to a regular file: the target is replaced atomically, the link kept', async () => {
    const real = join(tmp, 'real.json');
    const link = join(tmp, 'link.json');
    writeFileSync(real, 'old');
    symlinkSync('real.json', link);
    const t = await checkOutput(link, '--output');
    expect(t).toMatchObject({ kind: 'file', file: real, description: `${link} → ${real}` });
    await writeOutput(t, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.json');
    expect(readFileSync(real, 'utf8')).toBe('new');
    expect(readdirSync(tmp).sort()).toEqual(['link.json', 'real.json']);
    rmSync(link); rmSync(real);
  });

  it('refuses a folder, a trailing slash, a path under a file, a dangling symlink, a socket — one line each', async () => {
    mkdirSync(join(tmp, 'adir'));
    expect(await refused(checkOutput(join(tmp, 'adir'), '--output'))).toBe(`--output ${join(tmp, 'adir')}: is a folder; give a file name`);
    expect(await refused(checkOutput(`${tmp}/adir/`, '--output'))).toBe(`--output ${tmp}/adir/: is a folder path; give a file name`);
    writeFileSync(join(tmp, 'file.md'), 'x');
    expect(await refused(checkOutput(join(tmp, 'file.md', 'x.json'), '--output')))
      .toBe(`--output ${join(tmp, 'file.md', 'x.json')}: ${join(tmp, 'file.md')} is a file, not a folder`);
    expect(await refused(checkOutput(join(tmp, 'file.md', 'a', 'b', 'x.json'), '--output'))).toMatch(/file\.md is a file, not a folder$/);
    symlinkSync(join(tmp, 'nowhere'), join(tmp, 'dangling'));
    expect(await refused(checkOutput(join(tmp, 'dangling'), '--output'))).toBe(`--output ${join(tmp, 'dangling')}: is a symbolic link to ${join(tmp, 'nowhere')}, which does not exist`);
    symlinkSync('adir', join(tmp, 'dir-link'));
    expect(await refused(checkOutput(join(tmp, 'dir-link'), '--output'))).toMatch(/: is a folder \(.*adir\); give a file name$/);
    const sock = join(tmp, 'sock');
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      expect(await refused(checkOutput(sock, '--output'))).toMatch(/: is a socket; only files, named pipes and character devices can be written$/);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await refused(checkOutput('', '--output'))).toBe('--output "": empty path');
    expect(readdirSync(tmp).sort()).toEqual(['adir', 'dangling', 'dir-link', 'file.md']);
    for (const n of readdirSync(tmp)) rmSync(join(tmp, n), { recursive: true });
  });

  it('a failed write leaves neither a temp file nor the folders it created', async () => {
    // the check passes, then the folder is replaced by a file before the write: the write fails
    const path = join(tmp, 'gone', 'sub', 'out.json');
    const t = await checkOutput(path, '--output');
    writeFileSync(join(tmp, 'gone'), 'now a file');
    expect(await refused(writeOutput(t, 'data'))).toMatch(/^--output .*out\.json: cannot write: /);
    expect(readdirSync(tmp)).toEqual(['gone']);
    rmSync(join(tmp, 'gone'));
  });
});

describe('checkOutputFolder', () => {
  it('accepts a folder, a symlink to one and a creatable path; refuses a file, a FIFO and stdout', async () => {
    mkdirSync(join(tmp, 'exp'));
    symlinkSync('exp', join(tmp, 'exp-link'));
    await checkOutputFolder(join(tmp, 'exp'), '--export');
    await checkOutputFolder(join(tmp, 'exp-link'), '--export');
    await checkOutputFolder(join(tmp, 'not', 'yet'), '--export');
    writeFileSync(join(tmp, 'f'), '');
    execFileSync('mkfifo', [join(tmp, 'fifo')]);
    expect(await refused(checkOutputFolder(join(tmp, 'f'), '--export'))).toBe(`--export ${join(tmp, 'f')}: is a file, not a folder`);
    expect(await refused(checkOutputFolder(join(tmp, 'fifo'), '--export'))).toBe(`--export ${join(tmp, 'fifo')}: is a named pipe, not a folder`);
    expect(await refused(checkOutputFolder(join(tmp, 'f', 'x'), '--export'))).toMatch(/f is a file, not a folder$/);
    expect(await refused(checkOutputFolder('-', '--export'))).toMatch(/^--export -: takes a folder/);
    expect(readdirSync(tmp).sort()).toEqual(['exp', 'exp-link', 'f', 'fifo']);
    for (const n of readdirSync(tmp)) rmSync(join(tmp, n), { recursive: true });
  });
});
