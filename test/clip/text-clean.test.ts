import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  basicClean, cleanText, fixText, ftfyUnescapeHtml, htmlUnescape, pyStrip, whitespaceClean,
} from '../../src/clip/text-clean.ts';
import { html5Entities } from '../../src/clip/html5-entities.ts';

// Both fixtures come from test/fixtures/make/make_tokenizer_golden.py (OpenAI's simple_tokenizer,
// ftfy 6.3.1 and Python's html module).
interface GoldenCase { text: string; clean: string; ftfy: string }
const golden = JSON.parse(
  readFileSync(new URL('../fixtures/clip/tokenizer-golden.json', import.meta.url), 'utf8'),
) as { cases: GoldenCase[] };
const cleanGolden = JSON.parse(
  readFileSync(new URL('../fixtures/clip/tokenizer-clean-golden.json', import.meta.url), 'utf8'),
) as { unescape: [string, string, string][]; whitespace_clean: [string, string][] };

function mismatches<T>(items: readonly T[], check: (item: T) => string | undefined): string[] {
  return items.map(check).filter((m): m is string => m !== undefined);
}

describe('text cleanup against OpenAI/ftfy (golden table)', () => {
  it('has a table of every kind of string', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(250);
    expect(cleanGolden.unescape.length).toBeGreaterThan(50);
  });

  it('fixText equals ftfy.fix_text (default config) on every golden string', () => {
    const bad = mismatches(golden.cases, (c) => {
      const got = fixText(c.text);
      return got === c.ftfy ? undefined : `${JSON.stringify(c.text)}: ${JSON.stringify(got)} != ${JSON.stringify(c.ftfy)}`;
    });
    expect(bad).toEqual([]);
  });

  it('cleanText equals whitespace_clean(basic_clean(text)) on every golden string', () => {
    const bad = mismatches(golden.cases, (c) => {
      const got = cleanText(c.text);
      return got === c.clean ? undefined : `${JSON.stringify(c.text)}: ${JSON.stringify(got)} != ${JSON.stringify(c.clean)}`;
    });
    expect(bad).toEqual([]);
  });

  it('htmlUnescape equals Python html.unescape over every HTML5 entity and numeric reference', () => {
    const bad = mismatches(cleanGolden.unescape, ([input, expected]) => {
      const got = htmlUnescape(input);
      return got === expected ? undefined : `${JSON.stringify(input)} → ${JSON.stringify(got)} != ${JSON.stringify(expected)}`;
    });
    expect(bad).toEqual([]);
  });

  it("ftfyUnescapeHtml equals ftfy's unescape_html fixer over the same references", () => {
    const bad = mismatches(cleanGolden.unescape, ([input, , expected]) => {
      const got = ftfyUnescapeHtml(input);
      return got === expected ? undefined : `${JSON.stringify(input)} → ${JSON.stringify(got)} != ${JSON.stringify(expected)}`;
    });
    expect(bad).toEqual([]);
  });

  it('whitespaceClean equals OpenAI whitespace_clean (regex \\s collapses, str.strip strips)', () => {
    for (const [input, expected] of cleanGolden.whitespace_clean) expect(whitespaceClean(input)).toBe(expected);
  });
});

describe('text cleanup details', () => {
  it('holds all 2231 HTML5 named references, legacy bare names included', () => {
    const table = html5Entities();
    expect(table.size).toBe(2231);
    expect([...table.keys()].filter((k) => !k.endsWith(';')).length).toBe(106);
    // Every input of the unescape golden that names an entity exactly decodes through the table.
    expect(htmlUnescape('&' + 'NotEqualTilde;')).toBe(table.get('NotEqualTilde;'));
  });

  it('stops ftfy unescaping from the first line with a "<" on, but html.unescape still runs twice', () => {
    const text = '&amp;amp;amp;x\n<\n&amp;amp;amp;y';
    const ftfyOut = fixText(text);
    // The line before the '<' is fully unescaped by ftfy's loop; the ones after are left to basic_clean.
    expect(ftfyOut.startsWith('&x\n')).toBe(true);
    expect(ftfyOut.endsWith('&amp;amp;amp;y')).toBe(true);
    expect(basicClean(text).endsWith('&amp;y')).toBe(true);
  });

  it('strips what Python str.strip strips (\\x1c..\\x1f too) but not U+FEFF or U+200B', () => {
    expect(pyStrip('\x1c\x1f \t\u3000a b\u00a0\x85')).toBe('a b');
    expect(pyStrip('\ufeffa\u200b')).toBe('\ufeffa\u200b');
    expect(pyStrip('   ')).toBe('');
  });

  it('cleans a very long line of spaces in linear time', () => {
    const text = 'a ' + ' '.repeat(200_000) + 'b' + ' x'.repeat(50_000);
    const t0 = performance.now();
    expect(cleanText(text).length).toBe(3 + 2 * 50_000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
