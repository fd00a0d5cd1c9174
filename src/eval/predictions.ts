/**
 * The per-image predictions table of a run: CSV with header `impath,label,prediction`, one row per
 * test image in split order. Quoting is RFC 4180 / Python's csv.QUOTE_MINIMAL: a field holding a
 * comma, a double quote, CR or LF is wrapped in double quotes with inner quotes doubled.
 */
import { writeFileAtomic } from '../util/fs-atomic.ts';
import type { Labels } from './metrics.ts';

/** One CSV field, quoted only when it must be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** What a row needs from a test item (a Datum fits). */
export interface PredictedItem {
  /** The image path, written as given. */
  readonly impath: string;
  /** The true class index. */
  readonly label: number;
}

/**
 * The CSV text (LF line ends, a final newline) for `items` and their predicted class indices.
 * @throws RangeError when the counts differ or a label/prediction is not a non-negative integer.
 * @example formatPredictionsCsv([{ impath: 'a,b.jpg', label: 1 }], [2]) // 'impath,label,prediction\n"a,b.jpg",1,2\n'
 */
export function formatPredictionsCsv(items: readonly PredictedItem[], predictions: Labels): string {
  if (items.length !== predictions.length) throw new RangeError(`${predictions.length} predictions for ${items.length} items`);
  const lines = ['impath,label,prediction'];
  items.forEach((item, i) => {
    const p = predictions[i]!;
    if (!Number.isInteger(item.label) || item.label < 0) throw new RangeError(`item ${i} (${item.impath}): label ${item.label} is not a class index`);
    if (!Number.isInteger(p) || p < 0) throw new RangeError(`item ${i} (${item.impath}): prediction ${p} is not a class index`);
    lines.push(`${csvField(item.impath)},${item.label},${p}`);
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the predictions CSV atomically (a reader never sees half a file).
 * @example await writePredictionsCsv(join(runDir, 'predictions.csv'), data.test, argmaxRows(result.scores, result.classes));
 */
export async function writePredictionsCsv(path: string, items: readonly PredictedItem[], predictions: Labels): Promise<void> {
  await writeFileAtomic(path, formatPredictionsCsv(items, predictions));
}
