/**
 * downloadDataset against a loopback server serving the four paper datasets' archives, rebuilt
 * small from the fixture layouts in the publishers' structure (download-fixtures.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DATA_MIRROR_HINT, downloadDataset, type DatasetDownloadOptions } from '../../src/data/download.ts';
import { DATASET_SOURCES, type DatasetSource } from '../../src/data/download-sources.ts';
import { checkDataset } from '../../src/data/check.ts';
import { getDataset } from '../../src/data/registry.ts';
import { UserError } from '../../src/util/errors.ts';
import { DIRS, FIXTURE_COUNTS, FileServer, LAYOUTS, buildArchives, loopbackSources } from './download-fixtures.ts';

let src: string;
let archives: Record<string, Record<string, string>>;
let server: FileServer;
let sources: Record<string, DatasetSource>;
let root: string;
let lines: string[];

function quiet(): Writable {
  return new Writable({ write(_c, _e, cb) { cb(); } });
}

const opts = (extra: Partial<DatasetDownloadOptions> = {}): DatasetDownloadOptions => ({
  root, sources, retryDelayMs: 0, retries: 0, progressStream: quiet(), log: (l) => { lines.push(l); }, ...extra,
});

async function userError(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as Error;
  }
  throw new Error('expected a UserError');
}

/** Every file under a folder, relative, sorted. */
const tree = (dir: string): string[] => (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
  .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();

beforeAll(async () => {
  src = mkdtempSync(join(tmpdir(), 'iwpl-dl-src-'));
  archives = buildArchives(src);
  server = await new FileServer(src).start();
  sources = loopbackSources(server.url, archives);
});
afterAll(async () => {
  await server.close();
  rmSync(src, { recursive: true, force: true });
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'iwpl-dl-root-'));
  server.requests.length = 0;
  server.plan.clear();
  lines = [];
  return () => rmSync(root, { recursive: true, force: true });
});

describe('downloadDataset (loopback)', () => {
  it('builds each of the four datasets in CoOp\'s layout, checks it, leaves nothing else, and reuses it', async () => {
    for (const [name, dir] of Object.entries(DIRS)) {
      const r = await downloadDataset(name, opts());
      expect(r.dir).toBe(join(root, dir));
      expect(r.alreadyThere).toBe(false);
      expect(r.report.ok).toBe(true);
      expect(r.files.every((f) => f.origin === 'downloaded')).toBe(true);
      const check = await checkDataset(getDataset(name), root);
      expect(check.ok, name).toBe(true);
      expect({ classes: check.counts.classes, images: check.counts.train + check.counts.val + check.counts.test }).toEqual(FIXTURE_COUNTS[name]);
    }
    expect(readdirSync(root).sort()).toEqual(['caltech-101', 'fgvc_aircraft', 'oxford_flowers', 'oxford_pets']);
    // the publishers' extras stay out: Aircraft keeps only data/, Caltech only 101_ObjectCategories
    expect(readdirSync(join(root, 'fgvc_aircraft')).sort()).toEqual(['images', 'images_variant_test.txt', 'images_variant_train.txt', 'images_variant_val.txt', 'variants.txt']);
    expect(readdirSync(join(root, 'caltech-101')).sort()).toEqual(['101_ObjectCategories', 'split_zhou_Caltech101.json']);
    expect(readdirSync(join(root, 'oxford_flowers')).sort()).toEqual(['cat_to_name.json', 'imagelabels.mat', 'jpg', 'split_zhou_OxfordFlowers.json']);
    // every image of the layout arrived byte for byte
    for (const [sub, dir] of [['oxford_pets/images', 'oxford_pets/images'], ['oxford_flowers/jpg', 'oxford_flowers/jpg'], ['caltech-101/101_ObjectCategories', 'caltech-101/101_ObjectCategories']] as const) {
      const want = tree(join(LAYOUTS, dir));
      expect(tree(join(root, sub))).toEqual(want);
      for (const f of want) expect(readFileSync(join(root, sub, f)).equals(readFileSync(join(LAYOUTS, dir, f))), f).toBe(true);
    }
    const before = server.requests.length;
    const again = await downloadDataset('oxford_pets', opts());
    expect(again.alreadyThere).toBe(true);
    expect(server.requests.length).toBe(before);
  });

  it('resumes a dropped download with a Range request on the next run, keeping what was installed', async () => {
    server.plan.set('/oxford_pets/images.tar.gz', ['drop-half', 'normal']);
    const err = await userError(downloadDataset('pets', opts()));
    expect(err.message).toMatch(/images\.tar\.gz: download interrupted .* kept in .*\.oxford_pets\.download\/images\.tar\.gz\.part: run the command again to resume$/);
    expect(existsSync(join(root, 'oxford_pets'))).toBe(false); // never half-built in place
    const kept = readFileSync(join(root, '.oxford_pets.download', 'images.tar.gz.part')).length;
    expect(kept).toBeGreaterThan(0);
    const r = await downloadDataset('pets', opts());
    expect(r.files).toEqual([
      { file: 'split_zhou_OxfordPets.json', origin: 'installed before' },
      { file: 'annotations.tar.gz', origin: 'installed before' },
      { file: 'images.tar.gz', origin: 'resumed' },
    ]);
    const imageRequests = server.requests.filter((q) => q.path === '/oxford_pets/images.tar.gz');
    expect(imageRequests.map((q) => q.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(readdirSync(root)).toEqual(['oxford_pets']);
    expect(lines).toContain(`images.tar.gz: resuming ${server.url}/oxford_pets/images.tar.gz`);
  });

  it('deletes a download whose SHA-256 does not match, naming both hashes, and leaves nothing behind', async () => {
    const wrong = structuredClone(sources);
    const file = wrong.FGVCAircraft!.files[0]!;
    (wrong.FGVCAircraft!.files as unknown[])[0] = { ...file, sha256: 'ab'.repeat(32) };
    const err = await userError(downloadDataset('aircraft', opts({ sources: wrong })));
    expect(err.message).toMatch(new RegExp(`fgvc-aircraft-2013b\\.tar\\.gz: SHA-256 mismatch: expected ${'ab'.repeat(32)}, got ${file.sha256} \\(.*\\); the download was deleted$`));
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses the built-in table\'s pinned files when a mirror serves other bytes (size checked before the transfer)', async () => {
    const err = await userError(downloadDataset('fgvc_aircraft', opts({ sources: DATASET_SOURCES, baseUrl: server.url })));
    expect(err.message).toBe(`${server.url}/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: the server offers ${readFileSync(archives.FGVCAircraft!['fgvc-aircraft-2013b.tar.gz']!).length} bytes, expected 2770575360 (2.6 GiB): not the file this download is pinned to; ${DATA_MIRROR_HINT}`);
    expect(readdirSync(root)).toEqual([]);
    expect(lines[0]).toMatch(/^FGVCAircraft: FGVC-Aircraft images are for non-commercial research purposes only/);
  });

  it('names an HTTP 404 with the mirror option and leaves nothing behind', async () => {
    server.plan.set('/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz', ['not-found']);
    const err = await userError(downloadDataset('fgvc_aircraft', opts()));
    expect(err.message).toBe(`${server.url}/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: HTTP 404 Not Found (the server answered with an error; ${DATA_MIRROR_HINT})`);
    expect(readdirSync(root)).toEqual([]);
  });

  it('says in one line which host could not be reached and how to use a mirror', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await userError(downloadDataset('fgvc_aircraft', opts({ baseUrl: `http://127.0.0.1:${port}` })));
    expect(err.message).toBe(`http://127.0.0.1:${port}/fgvc_aircraft/fgvc-aircraft-2013b.tar.gz: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED) (1 attempt); check the network, or ${DATA_MIRROR_HINT}, or put a copy of the dataset in CoOp's layout at ${join(root, 'fgvc_aircraft')}`);
    expect(err.message).not.toContain('\n');
    expect(readdirSync(root)).toEqual([]);
    // an address that does not answer is followed by the next one in the table
    const fallback = structuredClone(sources);
    const ann = fallback.OxfordPets!.files[1]!;
    (fallback.OxfordPets!.files as unknown[])[1] = { ...ann, urls: [`http://127.0.0.1:${port}/gone/annotations.tar.gz`, ...ann.urls] };
    const r = await downloadDataset('oxford_pets', opts({ sources: fallback }));
    expect(r.report.ok).toBe(true);
    expect(lines).toContain(`annotations.tar.gz: http://127.0.0.1:${port}/gone/annotations.tar.gz: cannot reach the server: 127.0.0.1:${port} refused the connection; trying ${ann.urls[0]}`);
  });

  it('an unreachable address that does not end in the file\'s name (Google Drive\'s) is named by the file too', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const drive = structuredClone(sources);
    const files = drive.OxfordPets!.files as unknown as { file: string; urls: string[] }[];
    const split = files.find((f) => f.file.startsWith('split_zhou'))!;
    split.urls = [`http://127.0.0.1:${port}/uc?export=download&id=abc`];
    const err = await userError(downloadDataset('oxford_pets', opts({ sources: drive })));
    expect(err.message).toBe(`${split.file}: http://127.0.0.1:${port}/uc?export=download&id=abc: cannot reach the server: 127.0.0.1:${port} refused the connection (ECONNREFUSED) (1 attempt); check the network, or ${DATA_MIRROR_HINT}, or put a copy of the dataset in CoOp's layout at ${join(root, 'oxford_pets')}`);
    expect(readdirSync(root)).toEqual([]);
  });

  it('turns a Google Drive web page or refusal into one line saying which file to fetch by hand and how to pass it', async () => {
    server.plan.set('/oxford_pets/split_zhou_OxfordPets.json', ['html']);
    const page = await userError(downloadDataset('oxford_pets', opts()));
    expect(page.message).toBe('split_zhou_OxfordPets.json: Google Drive answered with a web page instead of the file (a sign-in, quota or confirmation page); '
      + 'open https://drive.google.com/file/d/1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs/view in a browser, download split_zhou_OxfordPets.json, and run this command again with --from <the folder it is in>');
    expect(readdirSync(root)).toEqual([]); // the page was not kept
    server.plan.set('/oxford_flowers/split_zhou_OxfordFlowers.json', ['forbidden']);
    const refused = await userError(downloadDataset('oxford_flowers', opts()));
    expect(refused.message).toMatch(/^split_zhou_OxfordFlowers\.json: Google Drive refused it \(HTTP 403\); open https:\/\/drive\.google\.com\/file\/d\/1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT\/view in a browser/);
    // doing what it says works: the file by hand in a folder, passed with --from
    const hand = join(root, 'by-hand');
    mkdirSync(hand);
    cpSync(archives.OxfordPets!['split_zhou_OxfordPets.json']!, join(hand, 'split_zhou_OxfordPets.json'));
    const r = await downloadDataset('oxford_pets', opts({ from: hand }));
    expect(r.files[0]).toEqual({ file: 'split_zhou_OxfordPets.json', origin: 'from' });
    expect(r.files.slice(1).map((f) => f.origin)).toEqual(['downloaded', 'downloaded']);
  });

  it('takes every file from --from without the network (Caltech\'s bare tar.gz too), and checks them', async () => {
    const from = join(root, 'from');
    mkdirSync(from);
    for (const f of ['split_zhou_Caltech101.json', '101_ObjectCategories.tar.gz']) cpSync(archives.Caltech101![f]!, join(from, f));
    const r = await downloadDataset('caltech101', opts({ from, baseUrl: 'http://iwpl-unused.invalid' }));
    expect(r.files).toEqual([{ file: 'split_zhou_Caltech101.json', origin: 'from' }, { file: '101_ObjectCategories.tar.gz', origin: 'from' }]);
    expect(server.requests).toEqual([]);
    expect(r.report.ok).toBe(true);
    expect(existsSync(join(from, '101_ObjectCategories.tar.gz'))).toBe(true); // the user's files stay
    // a file in --from that is not the pinned one is named, and left alone
    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'fgvc-aircraft-2013b.tar.gz'), 'not it');
    const err = await userError(downloadDataset('fgvc_aircraft', opts({ from: bad })));
    expect(err.message).toMatch(/bad\/fgvc-aircraft-2013b\.tar\.gz \(--from\): size mismatch: expected \d+ bytes, got 6; it is not the fgvc-aircraft-2013b\.tar\.gz this dataset needs \(test archive\)$/);
    expect(readFileSync(join(bad, 'fgvc-aircraft-2013b.tar.gz'), 'utf8')).toBe('not it');
    expect(existsSync(join(root, 'fgvc_aircraft'))).toBe(false);
    await expect(downloadDataset('fgvc_aircraft', opts({ from: join(root, 'nope') }))).rejects.toThrow(/--from .*nope: not a folder/);
  });

  it('keeps a folder that fails the check out of place, saying why and where it is', async () => {
    const broken = structuredClone(sources);
    broken.OxfordFlowers = { ...broken.OxfordFlowers!, expect: { classes: 102, images: 8189 } };
    const err = await userError(downloadDataset('oxford_flowers', opts({ sources: broken })));
    expect(err.message).toBe(`OxfordFlowers: the files do not make CoOp's dataset: the splits have 3 classes and 20 images, CoOp's have 102 and 8189 (another version of a file?); they are kept in ${join(root, '.oxford_flowers.partial')} (delete it to extract again)`);
    expect(existsSync(join(root, 'oxford_flowers'))).toBe(false);
    // a split naming an image that is not in the archive
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root);
    const split = JSON.parse(readFileSync(archives.OxfordFlowers!['split_zhou_OxfordFlowers.json']!, 'utf8')) as { test: unknown[][] };
    split.test.push(['image_09999.jpg', 0, 'pink primrose']);
    const from = join(root, 'from');
    mkdirSync(from);
    writeFileSync(join(from, 'split_zhou_OxfordFlowers.json'), JSON.stringify(split));
    const missing = await userError(downloadDataset('oxford_flowers', opts({ from })));
    expect(missing.message).toMatch(/^OxfordFlowers: the files do not make CoOp's dataset: 1 images missing and 0 unreadable \(first: .*\.oxford_flowers\.partial\/oxford_flowers\/jpg\/image_09999\.jpg\); they are kept in/);
  });

  it('leaves an existing incomplete folder alone, and refuses datasets it has no sources for', async () => {
    mkdirSync(join(root, 'oxford_pets'));
    const err = await userError(downloadDataset('oxford_pets', opts()));
    expect(err.message).toMatch(/oxford_pets already exists but is not complete: .*split_zhou_OxfordPets\.json.*; move it away \(or delete it\) and run again$/);
    expect(server.requests).toEqual([]);
    await expect(downloadDataset('imagenet', opts())).rejects.toThrow(/no download is known for ImageNet \(available: OxfordPets, OxfordFlowers, Caltech101, FGVCAircraft\)/);
    await expect(downloadDataset('mnist', opts())).rejects.toThrow(/unknown dataset "mnist"/);
  });

  it('keeps the archives when asked', async () => {
    await downloadDataset('fgvc_aircraft', opts({ keepArchives: true }));
    expect(readdirSync(join(root, '.fgvc_aircraft.download'))).toEqual(['fgvc-aircraft-2013b.tar.gz']);
    expect(readdirSync(root).sort()).toEqual(['.fgvc_aircraft.download', 'fgvc_aircraft']);
  });
});
