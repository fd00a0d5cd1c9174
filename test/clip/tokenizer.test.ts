import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTEXT_LENGTH, ClipTokenizer, EOT_TOKEN, SOT_TOKEN, VOCAB_FILE_NAME, resolveVocabPath,
} from '../../src/clip/tokenizer.ts';
import { cleanText } from '../../src/clip/text-clean.ts';
import { UserError } from '../../src/util/errors.ts';

// OpenAI's vocabulary, from the shared folder beside the repository (CI has it at the same place).
const VOCAB = fileURLToPath(new URL('../../../shared/clip/bpe_simple_vocab_16e6.txt.gz', import.meta.url));

// From test/fixtures/make/make_tokenizer_golden.py: OpenAI's SimpleTokenizer.encode / decode and
// clip.tokenize(truncate=True), cross-checked there against open_clip.
interface GoldenCase { text: string; ids: number[]; row: number[]; fits: boolean; decoded: string }
const golden = JSON.parse(
  readFileSync(new URL('../fixtures/clip/tokenizer-golden.json', import.meta.url), 'utf8'),
) as { context_length: number; cases: GoldenCase[] };

let tok: ClipTokenizer;
let loadMs = 0;
const tmp = mkdtempSync(path.join(tmpdir(), 'iwpl-tok-'));

beforeAll(async () => {
  const t0 = performance.now();
  tok = await ClipTokenizer.load(VOCAB);
  loadMs = performance.now() - t0;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const show = (ids: readonly number[]): string => JSON.stringify(ids);

describe('ClipTokenizer against OpenAI (golden table)', () => {
  it('covers the table: long texts, texts that fit, the empty string', () => {
    expect(golden.context_length).toBe(CONTEXT_LENGTH);
    expect(golden.cases.length).toBeGreaterThanOrEqual(250);
    expect(golden.cases.filter((c) => !c.fits).length).toBeGreaterThanOrEqual(5);
    expect(golden.cases.some((c) => c.text === '')).toBe(true);
  });

  it('encode equals SimpleTokenizer.encode on every string', () => {
    const bad = golden.cases
      .filter((c) => show(tok.encode(c.text)) !== show(c.ids))
      .map((c) => `${JSON.stringify(c.text)}: ${show(tok.encode(c.text))} != ${show(c.ids)}`);
    expect(bad).toEqual([]);
  });

  it('tokenize(truncate) equals clip.tokenize(truncate=True) rows; without truncate, long texts fail', () => {
    const bad: string[] = [];
    for (const c of golden.cases) {
      const row = tok.tokenize(c.text, { truncate: true });
      if (show(row) !== show(c.row)) bad.push(`${JSON.stringify(c.text)}: ${show(row)} != ${show(c.row)}`);
      if (c.fits) {
        if (show(tok.tokenize(c.text)) !== show(c.row)) bad.push(`${JSON.stringify(c.text)} without truncate`);
      } else {
        expect(() => tok.tokenize(c.text)).toThrow(UserError);
      }
    }
    expect(bad).toEqual([]);
  });

  it('decode equals SimpleTokenizer.decode on every string', () => {
    const bad = golden.cases
      .filter((c) => tok.decode(c.ids) !== c.decoded)
      .map((c) => `${JSON.stringify(c.text)}: ${JSON.stringify(tok.decode(c.ids))} != ${JSON.stringify(c.decoded)}`);
    expect(bad).toEqual([]);
  });

  it('tokenizeBatch gives the zero-padded rows and EOT positions', () => {
    const cases = golden.cases.slice(0, 40).concat(golden.cases.filter((c) => !c.fits));
    const { ids, eot } = tok.tokenizeBatch(cases.map((c) => c.text), { truncate: true });
    expect(ids.length).toBe(cases.length * CONTEXT_LENGTH);
    cases.forEach((c, i) => {
      const row = Array.from(ids.subarray(i * CONTEXT_LENGTH, (i + 1) * CONTEXT_LENGTH));
      expect(row.slice(0, c.row.length)).toEqual(c.row);
      expect(row.slice(c.row.length).every((v) => v === 0)).toBe(true);
      expect(eot[i]).toBe(c.row.length - 1);
      expect(row[eot[i]!]).toBe(EOT_TOKEN);
    });
  });
});

describe('ClipTokenizer behaviour', () => {
  it('has the 49,408-token vocabulary with SOT/EOT last', () => {
    expect(tok.vocabSize).toBe(49408);
    expect(tok.decode([SOT_TOKEN, EOT_TOKEN])).toBe('<|startoftext|><|endoftext|>');
    expect(tok.encode('<|startoftext|>')).toEqual([SOT_TOKEN]);
  });

  it('names the text, its token count and the limit when a text is too long', () => {
    const long = golden.cases.find((c) => !c.fits)!;
    const count = long.ids.length + 2;
    let message = '';
    try { tok.tokenize(long.text); } catch (err) { message = (err as Error).message; }
    expect(message).toContain(JSON.stringify(long.text.slice(0, 40)).slice(0, -1));
    expect(message).toContain(`${count} tokens`);
    expect(message).toContain(`context length ${CONTEXT_LENGTH}`);
    expect(() => tok.tokenize('a b c d e f g h i', { contextLength: 8 })).toThrow(/11 tokens.*context length 8/);
  });

  it('truncates to any context length the way clip.tokenize does (first ids, EOT last)', () => {
    const c = golden.cases.find((g) => g.ids.length > 20)!;
    expect(tok.tokenize(c.text, { contextLength: 10, truncate: true })).toEqual([...c.row.slice(0, 9), EOT_TOKEN]);
    const { ids, eot } = tok.tokenizeBatch(['a', c.text], { contextLength: 10, truncate: true });
    expect(ids.length).toBe(20);
    expect(eot).toEqual([2, 9]);
    expect(() => tok.tokenize('a', { contextLength: 1 })).toThrow(UserError);
  });

  it('decodes ASCII text back to its cleaned, lowercased words', () => {
    const ascii = golden.cases.filter((c) => c.fits && /^[\x20-\x7e]*$/.test(c.text) && !c.text.includes('&'));
    expect(ascii.length).toBeGreaterThan(150);
    for (const c of ascii) {
      const back = tok.decode(tok.encode(c.text));
      expect(back.replace(/ /g, '')).toBe(cleanText(c.text).toLowerCase().replace(/ /g, ''));
    }
    expect(tok.decode(tok.encode('a photo of a cat.'))).toBe('a photo of a cat . ');
  });

  it('rejects an id outside the vocabulary when decoding', () => {
    expect(() => tok.decode([49408])).toThrow(/49408.*0\.\.49407/);
  });

  it('loads in reasonable time and tokenizes 1000 prompts quickly', () => {
    // Lenient bounds (shared, loaded machine); typical: load ~0.3 s, 1000 prompts ~0.1 s.
    expect(loadMs).toBeLessThan(5000);
    const names = golden.cases.slice(0, 100).map((c) => c.text.slice(0, 20));
    const prompts = Array.from({ length: 1000 }, (_, i) => `a photo of a ${names[i % names.length]}, a type of flower.`);
    const t0 = performance.now();
    const { ids } = tok.tokenizeBatch(prompts, { truncate: true });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(ids.length).toBe(1000 * CONTEXT_LENGTH);
  });
});

describe('vocabulary file errors', () => {
  const gz = (text: string): Uint8Array => gzipSync(Buffer.from(text, 'utf8'));
  const merges = (n: number): string => Array.from({ length: n }, (_, i) => `${'ab'[i % 2]} ${'cd'[i % 2]}`).join('\n');

  it('names the path of a missing or unreadable file', async () => {
    const missing = path.join(tmp, 'nope.txt.gz');
    await expect(ClipTokenizer.load(missing)).rejects.toThrow(new UserError(`CLIP vocabulary file not found: ${missing}`));
    await expect(ClipTokenizer.load(tmp)).rejects.toThrow(UserError);
    await expect(ClipTokenizer.load(tmp)).rejects.toThrow(tmp);
  });

  it('names the path of a corrupt file (not gzip, too short, malformed merge)', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['plain.txt.gz', Buffer.from('#version: 0.2\ni n\n'), /not a gzipped UTF-8 text file/],
      ['short.txt.gz', gz('#version: 0.2\ni n\nt h\n'), /has 3 merge lines, expected at least 48894/],
      ['bad.txt.gz', gz('#version: 0.2\n' + merges(100) + '\nabc\n' + merges(48894)), /line 102 is "abc"/],
      ['latin1.txt.gz', gzipSync(Buffer.from([0x23, 0xe9, 0xff, 0x0a])), /not a gzipped UTF-8 text file/],
    ];
    for (const [name, bytes, why] of cases) {
      const file = path.join(tmp, name);
      writeFileSync(file, bytes);
      await expect(ClipTokenizer.load(file)).rejects.toThrow(UserError);
      await expect(ClipTokenizer.load(file)).rejects.toThrow(why);
      await expect(ClipTokenizer.load(file)).rejects.toThrow(file);
    }
  });
});

describe('resolveVocabPath', () => {
  const weightsDir = path.join(tmp, 'weights');
  const weights = path.join(weightsDir, 'RN50.pt');
  const beside = path.join(weightsDir, VOCAB_FILE_NAME);
  const emptyDir = path.join(tmp, 'empty');
  beforeAll(() => {
    mkdirSync(weightsDir, { recursive: true });
    mkdirSync(emptyDir, { recursive: true });
    writeFileSync(weights, 'x');
    writeFileSync(beside, 'x');
  });

  it('prefers the explicit path, then IWPL_VOCAB, then the file beside the weights', () => {
    expect(resolveVocabPath({ vocab: '/v.gz', modelPath: weights }, { IWPL_VOCAB: '/env.gz' })).toBe('/v.gz');
    expect(resolveVocabPath({ modelPath: weights }, { IWPL_VOCAB: '/env.gz' })).toBe('/env.gz');
    expect(resolveVocabPath({ modelPath: weights }, {})).toBe(beside);
    expect(resolveVocabPath({ modelPath: weightsDir }, {})).toBe(beside);
  });

  it('reads process.env by default', () => {
    const old = process.env.IWPL_VOCAB;
    process.env.IWPL_VOCAB = '/from-env.gz';
    try {
      expect(resolveVocabPath({})).toBe('/from-env.gz');
    } finally {
      if (old === undefined) delete process.env.IWPL_VOCAB; else process.env.IWPL_VOCAB = old;
    }
  });

  it('lists what it tried when nothing is found', () => {
    const model = path.join(emptyDir, 'RN50.pt');
    expect(() => resolveVocabPath({ modelPath: model }, {})).toThrow(UserError);
    expect(() => resolveVocabPath({ modelPath: model }, {})).toThrow(
      /IWPL_VOCAB not set.*empty\/bpe_simple_vocab_16e6\.txt\.gz \(not found\)/,
    );
    expect(() => resolveVocabPath({}, {})).toThrow(/no weights path to look beside/);
  });
});
