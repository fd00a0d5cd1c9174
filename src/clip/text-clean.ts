/**
 * CLIP's text cleanup, as OpenAI's clip/simple_tokenizer.py does it before BPE:
 * `whitespace_clean(basic_clean(text))`, where basic_clean = ftfy.fix_text → html.unescape twice → strip.
 *
 * ftfy.fix_text (ftfy 6.x, default config) is ported in its deterministic parts, in its order, per
 * line segment and repeated until nothing changes: unescape_html ("auto": off from the first line that
 * holds a '<' onwards), fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
 * fix_line_breaks, fix_surrogates, remove_terminal_escapes, remove_control_chars, then NFC.
 *
 * Left out on purpose:
 * - fix_encoding, ftfy's mojibake repair (re-decoding text like "cafÃ©" as UTF-8, restore_byte_a0,
 *   replace_lossy_sequences, decode_inconsistent_utf8). It is heuristic (a "badness" score over
 *   hand-tuned character classes); ordinary text never triggers it, and the golden table checks that
 *   none of its strings do. Real mojibake is therefore tokenised as written here.
 * - ftfy's max_decode_length (lines longer than 1,000,000 code points are fixed in one piece here).
 * Unicode tables come from the JS engine (V8/ICU), Python's from its own unicodedata: characters
 * assigned after Python's Unicode version may lowercase or normalise differently.
 */
import { html5Entities } from './html5-entities.ts';

/** Code points U+80..U+9F read as Windows-1252, undefined bytes kept (ftfy's "sloppy" codec; html.unescape's table too). */
const C1_AS_CP1252: readonly number[] = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/** Python `html` module: numeric references that are not plain code points (besides U+80..U+9F). */
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map([[0x00, '\ufffd'], [0x0d, '\r']]);

/** Python `html._invalid_codepoints`: numeric references to these decode to nothing. */
function isInvalidCodepoint(cp: number): boolean {
  return (cp >= 0x1 && cp <= 0x8) || cp === 0xb || (cp >= 0xe && cp <= 0x1f) || (cp >= 0x7f && cp <= 0x9f)
    || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

// Python's html._charref: '#' digits, '#x' hex digits, or up to 32 code points of a name; ';' optional.
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(ref: string): string {
  const entities = html5Entities();
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    const num = parseInt(digits, hex ? 16 : 10); // huge values exceed 0x10FFFF either way
    if (num >= 0x80 && num <= 0x9f) return String.fromCodePoint(C1_AS_CP1252[num - 0x80]!);
    const special = INVALID_CHARREFS.get(num);
    if (special !== undefined) return special;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
    if (isInvalidCodepoint(num)) return '';
    return String.fromCodePoint(num);
  }
  const exact = entities.get(ref);
  if (exact !== undefined) return exact;
  // The longest prefix that is an entity (only the legacy bare names can match), at least 2 code points.
  const cps = Array.from(ref);
  for (let x = cps.length - 1; x > 1; x--) {
    const value = entities.get(cps.slice(0, x).join(''));
    if (value !== undefined) return value + cps.slice(x).join('');
  }
  return '&' + ref;
}

/** Python's `html.unescape`: every HTML5 named reference (legacy bare names too), numeric references with HTML5's fix-ups. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF_RE, (_m, ref: string) => replaceCharref(ref));
}

let ftfyEntities: ReadonlyMap<string, string> | undefined;

/** ftfy's entity table: `&name;` for the HTML5 names with ';', plus all-caps spellings of lowercase names that are not entities themselves. */
function ftfyEntityTable(): ReadonlyMap<string, string> {
  if (ftfyEntities === undefined) {
    const map = new Map<string, string>();
    for (const [name, value] of html5Entities()) {
      if (!name.endsWith(';')) continue;
      map.set('&' + name, value);
      if (name === name.toLowerCase()) {
        const upper = '&' + name.toUpperCase();
        if (htmlUnescape(upper) === upper) map.set(upper, value.toUpperCase());
      }
    }
    ftfyEntities = map;
  }
  return ftfyEntities;
}

// ftfy's HTML_ENTITY_RE: only references that end in ';' (so "this&not that" stays).
const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's unescape_html fixer: references ending in ";" only (HTML5 names, all-caps spellings of lowercase ones, numeric). */
export function ftfyUnescapeHtml(text: string): string {
  const table = ftfyEntityTable();
  return text.replace(FTFY_ENTITY_RE, (ref) => {
    const value = table.get(ref);
    if (value !== undefined) return value;
    if (ref.startsWith('&#')) {
      const decoded = htmlUnescape(ref);
      return decoded.includes(';') ? ref : decoded;
    }
    return ref;
  });
}

/** ftfy's LIGATURES: Latin ligatures and digraphs only. */
const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['\u0132', 'IJ'], ['\u0133', 'ij'], ['\u0149', '\u02bcn'], ['\u01f1', 'DZ'], ['\u01f2', 'Dz'], ['\u01f3', 'dz'],
  ['\u01c4', 'D\u017d'], ['\u01c5', 'D\u017e'], ['\u01c6', 'd\u017e'], ['\u01c7', 'LJ'], ['\u01c8', 'Lj'], ['\u01c9', 'lj'],
  ['\u01ca', 'NJ'], ['\u01cb', 'Nj'], ['\u01cc', 'nj'], ['\ufb00', 'ff'], ['\ufb01', 'fi'], ['\ufb02', 'fl'],
  ['\ufb03', 'ffi'], ['\ufb04', 'ffl'], ['\ufb05', '\u017ft'], ['\ufb06', 'st'],
]);
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

let widthMap: ReadonlyMap<string, string> | undefined;

/** ftfy's WIDTH_MAP: U+3000 → space, and each of U+FF01..U+FFEF that NFKC changes → its NFKC form. */
function widthTable(): ReadonlyMap<string, string> {
  if (widthMap === undefined) {
    const map = new Map<string, string>([['\u3000', ' ']]);
    for (let cp = 0xff01; cp < 0xfff0; cp++) {
      const ch = String.fromCharCode(cp);
      const alt = ch.normalize('NFKC');
      if (alt !== ch) map.set(ch, alt);
    }
    widthMap = map;
  }
  return widthMap;
}

const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
const C1_RE = /[\x80-\x9f]/g;
// ANSI terminal escapes; Python's \d there is any Unicode decimal digit.
const ANSI_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// ftfy's CONTROL_CHARS: C0 controls except \t \n \f \r, DEL, deprecated Arabic controls, BOM, U+FFF9..U+FFFC.
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

const PLAIN_RE = /^[\t\n\x20-\x25\x27-\x7e]*$/;

/** One pass of ftfy's fixers over a segment (fix_encoding left out, see the file comment). */
function fixOnce(text: string, unescape: boolean): string {
  let t = unescape ? ftfyUnescapeHtml(text) : text;
  t = t.replace(C1_RE, (c) => String.fromCodePoint(C1_AS_CP1252[c.charCodeAt(0) - 0x80]!));
  t = t.replace(LIGATURE_RE, (c) => LIGATURES.get(c) ?? c);
  const widths = widthTable();
  t = t.replace(WIDTH_RE, (c) => widths.get(c) ?? c);
  t = t.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  t = t.replace(/\r\n/g, '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
  t = t.replace(LONE_SURROGATE_RE, '\ufffd');
  t = t.replace(ANSI_RE, '');
  t = t.replace(CONTROL_RE, '');
  return t.normalize('NFC');
}

/** ftfy.fix_text with its default configuration, without mojibake repair (see the file comment). */
export function fixText(text: string): string {
  // Printable ASCII, tabs and newlines without '&': no fixer changes anything (the common prompt).
  if (PLAIN_RE.test(text)) return text;
  const out: string[] = [];
  let unescape = true; // "auto": switched off for good by the first segment holding a '<'
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    let segment = text.slice(pos, end);
    if (unescape && segment.includes('<')) unescape = false;
    for (;;) {
      const fixed = fixOnce(segment, unescape);
      if (fixed === segment) break;
      segment = fixed;
    }
    out.push(segment);
    pos = end;
  }
  return out.join('');
}

// Python's str.isspace() set (strip) and the `regex` module's \s (Unicode White_Space, used to collapse).
const WHITE_SPACE = '\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE = WHITE_SPACE + '\\x1c-\\x1f';
const PY_SPACE_RE = new RegExp(`[${PY_SPACE}]`);
const COLLAPSE_RE = new RegExp(`[${WHITE_SPACE}]+`, 'g');

/** Python's `str.strip()` with no argument. */
export function pyStrip(text: string): string {
  // A scan from both ends (all these characters are single UTF-16 units); a regex anchored at the
  // end would rescan every inner run of spaces.
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE_RE.test(text[start]!)) start++;
  while (end > start && PY_SPACE_RE.test(text[end - 1]!)) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** OpenAI's basic_clean: ftfy.fix_text, html.unescape twice, strip. */
export function basicClean(text: string): string {
  return pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
}

/** OpenAI's whitespace_clean: every run of Unicode white space → one space, then strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(COLLAPSE_RE, ' '));
}

/** The text CLIP's BPE sees, before lowercasing: whitespace_clean(basic_clean(text)). */
export function cleanText(text: string): string {
  return whitespaceClean(basicClean(text));
}

/** The regex character class (without brackets) of the white space the tokenizer's split pattern excludes. */
export const WHITE_SPACE_CLASS = WHITE_SPACE;
