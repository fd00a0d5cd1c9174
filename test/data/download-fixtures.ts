/**
 * For the dataset download tests: the archives of the four paper datasets rebuilt, small, from the
 * fixture layouts (test/fixtures/data/layouts) with the real tools — GNU tar for .tar.gz/.tgz,
 * Python's zipfile for Caltech's zip — in the publishers' structure; a loopback HTTP server that
 * serves them at `/<dataset folder>/<file>` (Range, dropped connections, 404/403, web pages); and
 * a source table like DATASET_SOURCES pointing at that server, pinned to these archives.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET_SOURCES, type DatasetSource, type SourceFile } from '../../src/data/download-sources.ts';

export const LAYOUTS = fileURLToPath(new URL('../fixtures/data/layouts/', import.meta.url));

/** Dataset folder name by CoOp name. */
export const DIRS: Readonly<Record<string, string>> = { OxfordPets: 'oxford_pets', OxfordFlowers: 'oxford_flowers', Caltech101: 'caltech-101', FGVCAircraft: 'fgvc_aircraft' };

/** Classes and images (train + val + test) of each fixture layout. */
export const FIXTURE_COUNTS: Readonly<Record<string, { classes: number; images: number }>> = {
  OxfordPets: { classes: 3, images: 30 }, OxfordFlowers: { classes: 3, images: 20 }, Caltech101: { classes: 4, images: 27 }, FGVCAircraft: { classes: 3, images: 30 },
};

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'pipe' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`these tests need ${cmd} on PATH (${cmd === 'python3' ? 'its zipfile module builds the Caltech zip' : 'it builds the tar.gz archives'})`);
    throw err;
  }
}

/**
 * Builds every file of the four datasets under `dir/<dataset folder>/` and returns their paths by
 * CoOp name and file name (the Caltech alternative 101_ObjectCategories.tar.gz included).
 */
export function buildArchives(dir: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const at = (ds: string, file: string): string => {
    mkdirSync(join(dir, DIRS[ds]!), { recursive: true });
    (out[ds] ??= {})[file] = join(dir, DIRS[ds]!, file);
    return join(dir, DIRS[ds]!, file);
  };
  const pets = join(LAYOUTS, 'oxford_pets');
  run('tar', ['-czf', at('OxfordPets', 'images.tar.gz'), '-C', pets, 'images'], dir);
  run('tar', ['-czf', at('OxfordPets', 'annotations.tar.gz'), '-C', pets, 'annotations'], dir);
  cpSync(join(pets, 'split_zhou_OxfordPets.json'), at('OxfordPets', 'split_zhou_OxfordPets.json'));

  const flowers = join(LAYOUTS, 'oxford_flowers');
  run('tar', ['-czf', at('OxfordFlowers', '102flowers.tgz'), '-C', flowers, 'jpg'], dir);
  writeFileSync(at('OxfordFlowers', 'imagelabels.mat'), Buffer.from('MATLAB 5.0 MAT-file (a stand-in)'));
  cpSync(join(flowers, 'cat_to_name.json'), at('OxfordFlowers', 'cat_to_name.json'));
  cpSync(join(flowers, 'split_zhou_OxfordFlowers.json'), at('OxfordFlowers', 'split_zhou_OxfordFlowers.json'));

  // Caltech's zip holds caltech-101/101_ObjectCategories.tar.gz (and Annotations.tar)
  const caltech = join(LAYOUTS, 'caltech-101');
  const work = join(dir, 'caltech-work');
  mkdirSync(join(work, 'caltech-101'), { recursive: true });
  const inner = join(work, 'caltech-101', '101_ObjectCategories.tar.gz');
  run('tar', ['-czf', inner, '-C', caltech, '101_ObjectCategories'], dir);
  writeFileSync(join(work, 'caltech-101', 'Annotations.tar'), Buffer.alloc(10240));
  run('python3', ['-m', 'zipfile', '-c', at('Caltech101', 'caltech-101.zip'), 'caltech-101'], work);
  cpSync(inner, at('Caltech101', '101_ObjectCategories.tar.gz'));
  cpSync(join(caltech, 'split_zhou_Caltech101.json'), at('Caltech101', 'split_zhou_Caltech101.json'));

  // fgvc-aircraft-2013b.tar.gz: data/ is the dataset, the rest (code, README) is left out
  const air = join(dir, 'aircraft-work', 'fgvc-aircraft-2013b');
  cpSync(join(LAYOUTS, 'fgvc_aircraft'), join(air, 'data'), { recursive: true });
  writeFileSync(join(air, 'README.md'), 'not part of the dataset\n');
  run('tar', ['-czf', at('FGVCAircraft', 'fgvc-aircraft-2013b.tar.gz'), '-C', join(dir, 'aircraft-work'), 'fgvc-aircraft-2013b'], dir);
  return out;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * DATASET_SOURCES with every address on `base` (`<base>/<dir>/<file>`) and every pinned file
 * pinned to the generated archive instead; unpinned (Drive) files stay unpinned.
 */
export function loopbackSources(base: string, archives: Record<string, Record<string, string>>): Record<string, DatasetSource> {
  const out: Record<string, DatasetSource> = {};
  for (const [ds, source] of Object.entries(DATASET_SOURCES)) {
    const local = (f: SourceFile): SourceFile => {
      const path = archives[ds]![f.file]!;
      const pin = f.sha256 === undefined ? {} : { sha256: sha256(path), size: readFileSync(path).length };
      const { sha256: _s, size: _z, alternatives, ...rest } = f;
      return {
        ...rest, ...pin, urls: f.urls.length === 0 ? [] : [`${base}/${DIRS[ds]}/${f.file}`], checksum: 'test archive',
        ...(alternatives ? { alternatives: alternatives.map(local) } : {}),
      };
    };
    out[ds] = { ...source, files: source.files.map(local), expect: FIXTURE_COUNTS[ds]! };
  }
  return out;
}

/** How the server answers one request. */
export type Mode = 'normal' | 'drop-half' | 'not-found' | 'forbidden' | 'html' | 'ignore-range';

/** A loopback server for `dir/<dataset folder>/<file>`; `plan` sets the next answers per path. */
export class FileServer {
  readonly requests: { path: string; range: string | undefined }[] = [];
  /** Modes for the next requests of a path ('/<dir>/<file>'); each request takes one, the last repeats. */
  readonly plan = new Map<string, Mode[]>();
  private server: Server | undefined;
  url = '';

  constructor(private readonly dir: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    this.requests.push({ path, range: req.headers.range });
    const modes = this.plan.get(path);
    const mode: Mode = modes === undefined ? 'normal' : modes.length > 1 ? modes.shift()! : modes[0]!;
    if (mode === 'forbidden') { res.writeHead(403, 'Forbidden').end('quota exceeded'); return; }
    if (mode === 'html') { res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!DOCTYPE html><html><body>Google Drive can\'t scan this file for viruses.</body></html>'); return; }
    let content: Buffer;
    try {
      if (mode === 'not-found' || path.includes('..')) throw new Error('no');
      content = readFileSync(join(this.dir, path));
    } catch {
      res.writeHead(404, 'Not Found').end('no');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = mode !== 'ignore-range' && m ? Number(m[1]) : 0;
    if (start >= content.length && start > 0) { res.writeHead(416, { 'Content-Range': `bytes */${content.length}` }).end(); return; }
    const body = content.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'Content-Length': String(body.length),
      ...(start > 0 ? { 'Content-Range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    if (mode === 'drop-half') {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
