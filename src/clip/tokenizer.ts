/**
 * CLIP's tokenizer, identical in output to OpenAI's clip/simple_tokenizer.py and clip.tokenize:
 * cleanup (text-clean.ts) → lowercase → split regex → byte-level BPE over the first 48,894 merges of
 * bpe_simple_vocab_16e6.txt.gz → ids; rows of SOT + ids + EOT in a context of 77.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../util/errors.ts';
import { WHITE_SPACE_CLASS, cleanText } from './text-clean.ts';

/** Id of `<|startoftext|>`. */
export const SOT_TOKEN = 49406;
/** Id of `<|endoftext|>`; CLIP reads the text feature at this position. */
export const EOT_TOKEN = 49407;
/** Every CLIP model's text context. */
export const CONTEXT_LENGTH = 77;
/** File name of the vocabulary as OpenAI ships it. */
export const VOCAB_FILE_NAME = 'bpe_simple_vocab_16e6.txt.gz';
/** Merges used: the vocabulary is 256 bytes + 256 bytes with `</w>` + merges + 2 special tokens = 49,408. */
const MERGE_COUNT = 49152 - 256 - 2;
/** Cached words before the cache is emptied (keeps memory bounded on endless streams of new words). */
const CACHE_LIMIT = 100_000;

const SPECIAL_SOT = '<|startoftext|>';
const SPECIAL_EOT = '<|endoftext|>';

// OpenAI's split pattern, written for JS. The text is lowercased before the split, so OpenAI's
// IGNORECASE only matters through two quirks of Python's `regex`, spelt out here instead of JS's 'i'
// flag (whose case closure differs): 'ſ' (U+017F) matches 's' (so "'ſ" is the contraction "'s"), and
// U+0345 (combining ypogegrammeni, case-folded to the letter ι) is matched by no alternative, so it is
// dropped. Its \s is Unicode White_Space (JS's \s adds U+FEFF and lacks U+85). Letters and numbers
// come from the JS engine's Unicode tables; the `regex` module may know characters assigned in newer
// Unicode versions (compared over all code points: they differ only on such characters).
const SPLIT_RE = new RegExp(
  `<\\|[sſ]tartoftext\\|>|<\\|endoftext\\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${WHITE_SPACE_CLASS}\\p{L}\\p{N}\u0345]+`,
  'gu',
);

/**
 * GPT-2's reversible byte → character table: printable Latin-1 bytes map to themselves, the other 68
 * bytes to U+0100.. in byte order. Index = byte, value = one BMP character.
 */
function byteEncoder(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

/** The vocabulary in id order, as simple_tokenizer builds it (bytes in its order, bytes + `</w>`, merges, specials). */
function vocabularyOrder(bytes: readonly string[]): string[] {
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (bytes[b]!.charCodeAt(0) === b) order.push(b);
  for (let b = 0; b < 256; b++) if (bytes[b]!.charCodeAt(0) !== b) order.push(b);
  const base = order.map((b) => bytes[b]!);
  return [...base, ...base.map((c) => c + '</w>')];
}

/** Options of {@link ClipTokenizer.tokenize}. */
export interface TokenizeOptions {
  /** Row length, SOT and EOT included (default 77, every CLIP's). */
  readonly contextLength?: number;
  /** Cut a long text to the first contextLength ids with EOT last (OpenAI's truncate=True); default false: UserError. */
  readonly truncate?: boolean;
}

/** Rows for a batch: ids [n, contextLength] zero-padded, row-major; eot[i] = index of EOT in row i. */
export interface TokenizedBatch {
  readonly ids: Int32Array;
  readonly eot: number[];
}

function quoteText(text: string): string {
  return JSON.stringify(text.length > 120 ? text.slice(0, 117) + '...' : text);
}

/** CLIP's BPE tokenizer (see the file comment). Build it with {@link ClipTokenizer.load}. */
export class ClipTokenizer {
  private readonly encoder: Map<string, number>;
  private readonly decoder: readonly string[];
  private readonly ranks: Map<string, number>;
  private readonly bytes = byteEncoder();
  private readonly byteDecoder: Map<string, number>;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly utf8 = new TextEncoder();

  private constructor(merges: readonly string[]) {
    this.ranks = new Map(merges.map((m, i) => [m, i]));
    const vocab = vocabularyOrder(this.bytes);
    for (const m of merges) vocab.push(m.replace(' ', ''));
    vocab.push(SPECIAL_SOT, SPECIAL_EOT);
    this.decoder = vocab;
    this.encoder = new Map(vocab.map((v, i) => [v, i]));
    this.byteDecoder = new Map(this.bytes.map((c, b) => [c, b]));
  }

  /** Reads the gzipped vocabulary; a missing, unreadable or malformed file → UserError naming it. */
  static async load(vocabPath: string): Promise<ClipTokenizer> {
    let gz: Uint8Array;
    try {
      gz = await readFile(vocabPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`CLIP vocabulary file not found: ${vocabPath}`);
      throw new UserError(`cannot read the CLIP vocabulary ${vocabPath}: ${(err as Error).message}`);
    }
    return ClipTokenizer.fromGzip(gz, vocabPath);
  }

  /** Builds the tokenizer from the bytes of bpe_simple_vocab_16e6.txt.gz; `source` names them in errors. */
  static fromGzip(gz: Uint8Array, source: string): ClipTokenizer {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(gunzipSync(gz));
    } catch (err) {
      throw new UserError(`the CLIP vocabulary ${source} is not a gzipped UTF-8 text file (${(err as Error).message})`);
    }
    const lines = text.split('\n');
    if (lines.length < MERGE_COUNT + 1) {
      throw new UserError(`the CLIP vocabulary ${source} has ${lines.length - 1} merge lines, expected at least ${MERGE_COUNT}`);
    }
    // Line 0 is a version header; merges follow, one "a b" pair a line.
    const merges = lines.slice(1, MERGE_COUNT + 1).map((line, i) => {
      const space = line.indexOf(' ');
      // The usual "a b" line as it is; anything else as Python's str.split() would read it.
      if (space > 0 && space < line.length - 1 && line.indexOf(' ', space + 1) < 0 && !/[^\S ]/.test(line)) return line;
      const parts = line.trim().split(/\s+/);
      if (parts.length !== 2 || parts[0] === '') {
        throw new UserError(`the CLIP vocabulary ${source} is corrupt: line ${i + 2} is ${JSON.stringify(line)}, not a merge "a b"`);
      }
      return parts.join(' ');
    });
    return new ClipTokenizer(merges);
  }

  /** Vocabulary size (49,408). */
  get vocabSize(): number {
    return this.decoder.length;
  }

  /** BPE ids of one split piece (already byte-encoded), through the cache. */
  private bpe(token: string): readonly number[] {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    let ids: number[];
    if (token === SPECIAL_SOT || token === SPECIAL_EOT) {
      ids = [token === SPECIAL_SOT ? SOT_TOKEN : EOT_TOKEN];
    } else {
      let word = token.split(''); // byte-encoded characters are single UTF-16 units
      word[word.length - 1] += '</w>';
      while (word.length > 1) {
        // The adjacent pair with the lowest merge rank; merge every occurrence of it, left to right.
        let best = Infinity;
        let at = -1;
        for (let i = 0; i + 1 < word.length; i++) {
          const rank = this.ranks.get(word[i] + ' ' + word[i + 1]);
          if (rank !== undefined && rank < best) { best = rank; at = i; }
        }
        if (at < 0) break;
        const first = word[at]!;
        const second = word[at + 1]!;
        const merged: string[] = [];
        for (let i = 0; i < word.length; i++) {
          if (word[i] === first && word[i + 1] === second && i + 1 < word.length) {
            merged.push(first + second);
            i++;
          } else {
            merged.push(word[i]!);
          }
        }
        word = merged;
      }
      ids = word.map((symbol) => {
        const id = this.encoder.get(symbol);
        if (id === undefined) throw new Error(`BPE produced ${JSON.stringify(symbol)}, which is not in the vocabulary`);
        return id;
      });
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, ids);
    return ids;
  }

  /** BPE ids of a text, without SOT/EOT (OpenAI's SimpleTokenizer.encode). */
  encode(text: string): number[] {
    const ids: number[] = [];
    const clean = cleanText(text).toLowerCase();
    for (const match of clean.matchAll(SPLIT_RE)) {
      let token = '';
      for (const b of this.utf8.encode(match[0])) token += this.bytes[b];
      for (const id of this.bpe(token)) ids.push(id);
    }
    return ids;
  }

  /**
   * SOT + encode(text) + EOT, unpadded. Longer than contextLength: UserError naming the text, its
   * length and the limit, or with `truncate` the first contextLength ids with EOT last (clip.tokenize).
   */
  tokenize(text: string, options: TokenizeOptions = {}): number[] {
    const contextLength = options.contextLength ?? CONTEXT_LENGTH;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new UserError(`contextLength must be an integer >= 2, got ${contextLength}`);
    }
    const row = [SOT_TOKEN, ...this.encode(text), EOT_TOKEN];
    if (row.length <= contextLength) return row;
    if (!options.truncate) {
      throw new UserError(
        `text ${quoteText(text)} is ${row.length} tokens long (start and end tokens included), ` +
          `more than the context length ${contextLength}; shorten it or allow truncation`,
      );
    }
    const cut = row.slice(0, contextLength);
    cut[contextLength - 1] = EOT_TOKEN;
    return cut;
  }

  /** Tokenizes each text into a zero-padded row (clip.tokenize), with each row's EOT index. */
  tokenizeBatch(texts: readonly string[], options: TokenizeOptions = {}): TokenizedBatch {
    const contextLength = options.contextLength ?? CONTEXT_LENGTH;
    const ids = new Int32Array(texts.length * contextLength);
    const eot: number[] = [];
    texts.forEach((text, i) => {
      const row = this.tokenize(text, options);
      ids.set(row, i * contextLength);
      eot.push(row.length - 1);
    });
    return { ids, eot };
  }

  /** Text of ids (OpenAI's decode: bytes back to UTF-8 with U+FFFD for broken sequences, `</w>` → space). */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const symbol = this.decoder[id];
      if (symbol === undefined) throw new UserError(`token id ${id} is not in the CLIP vocabulary (0..${this.decoder.length - 1})`);
      for (const ch of symbol) bytes.push(this.byteDecoder.get(ch)!);
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes)).replaceAll('</w>', ' ');
  }
}

/** Where to look for the vocabulary (see {@link resolveVocabPath}). */
export interface VocabLocation {
  /** An explicit path (e.g. the --vocab option); used as given. */
  readonly vocab?: string;
  /** The weights file (or its folder); the vocabulary is looked for beside it. */
  readonly modelPath?: string;
}

/**
 * The vocabulary path: the explicit `vocab`, else $IWPL_VOCAB, else bpe_simple_vocab_16e6.txt.gz beside
 * the weights if it exists, else a UserError listing what was tried. Explicit and environment paths are
 * returned unchecked (ClipTokenizer.load reports a missing file by its path) so they never fall through.
 */
export function resolveVocabPath(where: VocabLocation, env: NodeJS.ProcessEnv = process.env): string {
  if (where.vocab !== undefined && where.vocab !== '') return where.vocab;
  const fromEnv = env.IWPL_VOCAB;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const tried = ['no explicit vocabulary path', 'IWPL_VOCAB not set'];
  if (where.modelPath !== undefined && where.modelPath !== '') {
    const dir = existsSync(where.modelPath) && statSync(where.modelPath).isDirectory() ? where.modelPath : path.dirname(where.modelPath);
    const beside = path.join(dir, VOCAB_FILE_NAME);
    if (existsSync(beside)) return beside;
    tried.push(`${beside} (not found)`);
  } else {
    tried.push('no weights path to look beside');
  }
  throw new UserError(
    `cannot find CLIP's BPE vocabulary ${VOCAB_FILE_NAME}; tried: ${tried.join('; ')}. ` +
      'Give its path (--vocab), set IWPL_VOCAB, or put the file beside the weights',
  );
}
