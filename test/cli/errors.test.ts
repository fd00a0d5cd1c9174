/**
 * Every user-facing failure of the real CLI is one line on stderr naming the input at fault, a
 * non-zero exit, and leaves no output file or partial folder behind. A table of bad inputs (from
 * this and earlier issues) runs `bin/iwpl.js` two at a time; each case gets a fresh folder whose
 * contents must be the same afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tracking/local-server.ts';
import { CLIP_FIXTURES, REPO, VOCAB, iwplAsync, lines, type CliResult } from './spawn-iwpl.ts';

interface Case {
  readonly name: string;
  /** Arguments; `@` is replaced by the case's own folder. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly code: 1 | 2;
  /** The one stderr line must match. */
  readonly line: RegExp;
  /** Files the case needs in its folder before it runs. */
  readonly files?: Readonly<Record<string, string>>;
}

const VIT = join(CLIP_FIXTURES, 'tiny-vit.safetensors');
const CORRUPT = join(REPO, 'test/fixtures/weights/tree.corrupt.pt');
const SPLIT = join(REPO, 'test/fixtures/data/layouts/oxford_flowers/split_zhou_OxfordFlowers.json');
const LAYOUTS = join(REPO, 'test/fixtures/data/layouts');
const OUT = '@/out/x.json'; // its folder does not exist: a failure must not create it
const embed = (...extra: string[]): string[] => ['embed', '--model', VIT, '--vocab', VOCAB, '--text', 'a photo', '--output', OUT, ...extra];
let deadPort = 0;

const CASES = (): Case[] => [
  // usage: unknown flags first, whatever else is missing
  { name: 'unknown flag before missing required options', args: ['embed', '--bogus'], code: 2, line: /^iwpl embed: unknown option '--bogus' \(see iwpl embed --help\)$/ },
  { name: 'misspelt flag gets a suggestion', args: ['tracking', 'sync', '--url', 'x'], code: 2, line: /^iwpl tracking sync: unknown option '--url' \(Did you mean --uri\?\)/ },
  { name: 'missing required option', args: ['embed', '--model', VIT], code: 2, line: /^iwpl embed: required option '--output <file>' not specified/ },
  { name: 'flag without its value', args: ['embed', '--output', OUT, '--model'], code: 2, line: /^iwpl embed: option '--model <file>' argument missing/ },
  { name: 'unknown command', args: ['embedd'], code: 2, line: /^iwpl: unknown command 'embedd'/ },
  // embed: weights, vocabulary, texts, outputs, backend
  { name: 'missing model file', args: ['embed', '--model', '@/no-such.pt', '--vocab', VOCAB, '--text', 'a', '--output', OUT], code: 1, line: /no-such\.pt/ },
  { name: 'model that is not weights', args: ['embed', '--model', join(REPO, 'README.md'), '--vocab', VOCAB, '--text', 'a', '--output', OUT], code: 1, line: /README\.md/ },
  { name: 'corrupt weights name the zip entry and the tensor', args: ['embed', '--model', CORRUPT, '--vocab', VOCAB, '--text', 'a', '--output', OUT], code: 1, line: /tree\.corrupt\.pt: zip entry 'tree\.state_dict\/data\/0' \(tensor '\w+'\) is corrupt: its CRC-32 is/ },
  { name: 'bad vocabulary file', files: { 'bad-vocab.txt.gz': 'not gzip at all' }, args: ['embed', '--model', VIT, '--vocab', '@/bad-vocab.txt.gz', '--text', 'a', '--output', OUT], code: 1, line: /bad-vocab\.txt\.gz/ },
  { name: 'text over 77 tokens names --truncate', args: ['embed', '--model', VIT, '--vocab', VOCAB, '--text', 'word '.repeat(90), '--output', OUT], code: 1, line: /more than the context length 77; .*\(--truncate\)$/ },
  { name: 'nothing to embed', args: ['embed', '--model', VIT, '--output', OUT], code: 1, line: /--image or --text/ },
  { name: 'missing image', args: [...embed('--image', '@/missing.png')], code: 1, line: /missing\.png/ },
  { name: '--output is a folder', args: ['embed', '--model', VIT, '--vocab', VOCAB, '--text', 'a', '--output', '@'], code: 1, line: /^iwpl: --output .*: is a folder; give a file name$/ },
  { name: '--output under a file', args: ['embed', '--model', VIT, '--vocab', VOCAB, '--text', 'a', '--output', 'README.md/x.json'], code: 1, line: /^iwpl: --output README\.md\/x\.json: .*README\.md is a file, not a folder$/ },
  { name: 'IWPL_BACKEND=webgl', env: { IWPL_BACKEND: 'webgl' }, args: embed(), code: 1, line: /IWPL_BACKEND/ },
  { name: 'IWPL_BACKEND=node', env: { IWPL_BACKEND: 'node' }, args: embed(), code: 1, line: /IWPL_BACKEND|node/ },
  // data
  { name: '--shots 0', args: ['data', 'fewshot', '--split', SPLIT, '--shots', '0', '--seed', '1', '--output', OUT], code: 1, line: /^iwpl: --shots must be an integer >= 1 \(got "0"\)$/ },
  { name: '--shots -1 (same message)', args: ['data', 'fewshot', '--split', SPLIT, '--shots', '-1', '--seed', '1', '--output', OUT], code: 1, line: /^iwpl: --shots must be an integer >= 1 \(got "-1"\)$/ },
  { name: '--seed not an integer', args: ['data', 'fewshot', '--split', SPLIT, '--shots', '1', '--seed', '1.5', '--output', OUT], code: 1, line: /^iwpl: --seed must be an integer \(got "1\.5"\)$/ },
  { name: 'missing split file', args: ['data', 'fewshot', '--split', '@/split.json', '--shots', '1', '--seed', '1', '--output', OUT], code: 1, line: /split\.json/ },
  { name: 'split file that is not JSON', files: { 'split.json': '{"train": [' }, args: ['data', 'fewshot', '--split', '@/split.json', '--shots', '1', '--seed', '1', '--output', OUT], code: 1, line: /split\.json/ },
  { name: 'unknown dataset', args: ['data', 'check', 'imagenet_sketchy', '--root', LAYOUTS], code: 1, line: /unknown dataset "imagenet_sketchy"/ },
  { name: 'dataset folder missing', args: ['data', 'check', 'oxford_pets', '--root', '@/nowhere'], code: 1, line: /nowhere/ },
  // features
  { name: 'features --batch 0', args: ['features', 'folder', '--root', '@', '--model', VIT, '--batch', '0'], code: 1, line: /^iwpl: --batch must be an integer >= 1 \(got "0"\)$/ },
  { name: 'features --chunk -1', args: ['features', 'folder', '--root', '@', '--model', VIT, '--chunk', '-1'], code: 1, line: /^iwpl: --chunk must be an integer >= 1 \(got "-1"\)$/ },
  { name: 'features --views x', args: ['features', 'folder', '--root', '@', '--model', VIT, '--views', 'x'], code: 1, line: /^iwpl: --views must be an integer >= 0 \(got "x"\)$/ },
  { name: 'features --export is a file', args: ['features', 'folder', '--root', '@', '--model', VIT, '--export', join(REPO, 'README.md')], code: 1, line: /^iwpl: --export .*README\.md: is a file, not a folder$/ },
  { name: 'features unknown dataset', args: ['features', 'flowerz', '--root', '@', '--model', VIT], code: 1, line: /unknown dataset "flowerz"/ },
  // tracking
  { name: 'status: store that is a file', args: ['tracking', 'status', '--store', join(REPO, 'README.md')], code: 1, line: /^iwpl: --store .*README\.md: not a folder$/ },
  { name: 'status: store that does not exist', args: ['tracking', 'status', '--store', '@/typo'], code: 1, line: /^iwpl: --store .*typo: no such offline store folder$/ },
  { name: 'sync: --uri not a URL names --uri', args: ['tracking', 'sync', '--uri', 'notaurl', '--store', '@'], code: 1, line: /^iwpl: --uri "notaurl" is not a URL/ },
  { name: 'sync: MLFLOW_TRACKING_URI not a URL names it', env: { MLFLOW_TRACKING_URI: 'ftp://x' }, args: ['tracking', 'sync', '--store', '@'], code: 1, line: /^iwpl: MLFLOW_TRACKING_URI "ftp:\/\/x" must be http\(s\)/ },
  { name: 'sync: no server given', env: { MLFLOW_TRACKING_URI: undefined }, args: ['tracking', 'sync', '--store', '@'], code: 1, line: /no server given/ },
  { name: 'sync: server down', args: ['tracking', 'sync', '--uri', `http://127.0.0.1:${deadPort}`, '--store', '@'], code: 1, line: new RegExp(`127\\.0\\.0\\.1:${deadPort} \\(--uri\\) does not answer`) },
  // assets
  { name: 'download: unknown model', args: ['assets', 'download', 'RN42', '--dir', '@/w'], code: 1, line: /checkpoint named 'RN42'/ },
  { name: 'download: --retries x', args: ['assets', 'download', 'RN50', '--retries', 'x', '--dir', '@/w'], code: 1, line: /^iwpl: --retries must be an integer >= 0 \(got "x"\)$/ },
  { name: 'download: --base-url not a URL', args: ['assets', 'download', 'RN50', '--base-url', 'mirror', '--dir', '@/w'], code: 1, line: /^iwpl: --base-url "mirror" is not an http\(s\):\/\/ URL$/ },
  { name: 'download: host refuses, no partial folder', args: ['assets', 'download', 'RN50', '--retries', '0', '--base-url', `http://127.0.0.1:${deadPort}`, '--dir', '@/w/deep'], code: 1, line: /refused the connection \(ECONNREFUSED\) \(1 attempt\); check the network, or a mirror .* --base-url or IWPL_ASSETS_BASE_URL, or put a copy of bpe_simple_vocab_16e6\.txt\.gz in \S+\/w\/deep \(it is checked by SHA-256\)$/ },
  { name: 'download: name not resolved', args: ['assets', 'download', 'vocab', '--retries', '0', '--base-url', 'http://iwpl-mirror.invalid', '--dir', '@/w'], code: 1, line: /the name iwpl-mirror\.invalid could not be resolved \((ENOTFOUND|EAI_AGAIN)\) .*--base-url or IWPL_ASSETS_BASE_URL, or put a copy of bpe_simple_vocab_16e6\.txt\.gz in \S+\/w \(it is checked by SHA-256\)$/ },
  { name: 'download: --dir is a file', args: ['assets', 'download', 'RN50', '--dir', join(REPO, 'README.md')], code: 1, line: /^iwpl: --dir .*README\.md: is a file, not a folder$/ },
];

let tmp: string;
const results = new Map<string, { result: CliResult; before: string[]; after: string[] }>();
const listing = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iwpl-cli-errors-'));
  deadPort = await freePort();
  const cases = CASES();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < cases.length; i = next++) {
      const c = cases[i]!;
      const dir = join(tmp, `case-${i}`);
      mkdirSync(dir);
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(dir, name), text);
      const before = listing(dir);
      const result = await iwplAsync(c.args.map((a) => a.replace(/^@/, dir)), { ...(c.env ? { env: c.env } : {}) });
      results.set(c.name, { result, before, after: listing(dir) });
    }
  };
  await Promise.all([worker(), worker()]); // two at a time: the machine has two cores
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('one line per error', () => {
  // names are known before beforeAll runs; the ports are filled in then
  for (const name of CASES().map((c) => c.name)) {
    it(name, () => {
      const c = CASES().find((x) => x.name === name)!;
      const r = results.get(name);
      expect(r, 'the case ran').toBeDefined();
      const { result, before, after } = r!;
      const err = lines(result.stderr);
      expect(err, `stderr of: iwpl ${c.args.join(' ')}`).toEqual([expect.stringMatching(c.line)]);
      expect(err[0]).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack frame
      expect(result.code).toBe(c.code);
      expect(after, 'no output file or partial folder left').toEqual(before);
    });
  }

  it('IWPL_DEBUG=1 adds the stack trace', async () => {
    const r = await iwplAsync(['data', 'fewshot', '--split', join(tmp, 'none.json'), '--shots', '1', '--seed', '1', '--output', join(tmp, 'x.json')], { env: { IWPL_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at .*\.ts:\d+/);
    expect(lines(r.stderr).at(-1)).toMatch(/^iwpl: .*none\.json/);
  });
});
