/** The predictions CSV equals Python's csv module output (make_train_fixtures.py) and is written atomically. */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvField, formatPredictionsCsv, writePredictionsCsv } from '../../src/eval/predictions.ts';

const golden = JSON.parse(readFileSync(new URL('../fixtures/train/metrics-golden.json', import.meta.url), 'utf8')) as {
  csv: { rows: [string, number, number][]; text: string };
};
const dir = mkdtempSync(join(tmpdir(), 'iwpl-predictions-'));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('predictions CSV', () => {
  const items = golden.csv.rows.map(([impath, label]) => ({ impath, label }));
  const preds = golden.csv.rows.map((r) => r[2]);

  it('equals csv.writer(lineterminator="\\n") for paths with commas, quotes, newlines and spaces', () => {
    expect(formatPredictionsCsv(items, preds)).toBe(golden.csv.text);
    expect(golden.csv.text).toContain('"/data/a,b/c.jpg"'); // the fixture exercises quoting
  });

  it('writes the file atomically (no temp file left) and refuses mismatched input', async () => {
    const path = join(dir, 'predictions.csv');
    await writePredictionsCsv(path, items, Int32Array.from(preds));
    expect(readFileSync(path, 'utf8')).toBe(golden.csv.text);
    expect(readdirSync(dir)).toEqual(['predictions.csv']);
    expect(() => formatPredictionsCsv(items, preds.slice(1))).toThrow(/5 predictions for 6 items/);
    expect(() => formatPredictionsCsv([{ impath: 'x.jpg', label: -1 }], [0])).toThrow(/x\.jpg.*label -1/);
  });

  it('csvField quotes only when needed', () => {
    expect(csvField('plain/path.jpg')).toBe('plain/path.jpg');
    expect(csvField('a"b')).toBe('"a""b"');
    expect(csvField('a\rb')).toBe('"a\rb"');
  });
});
