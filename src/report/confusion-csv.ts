/**
 * A run's confusion matrix from its predictions.csv (`impath,label,prediction`, eval/predictions.ts)
 * and the class names of its dataset (read from the data root when it is there, else "class <i>").
 */
import { getDataset } from '../data/registry.ts';
import { UserError } from '../util/errors.ts';
import type { ConfusionInput } from './types.ts';

/** True labels and predictions of a predictions.csv (label and prediction are its last two fields). */
export function parsePredictionsCsv(text: string, source: string): { labels: number[]; predictions: number[] } {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  if (lines[0] !== 'impath,label,prediction') throw new UserError(`${source}: not a predictions.csv (header "${lines[0] ?? ''}")`);
  const labels: number[] = [];
  const predictions: number[] = [];
  lines.slice(1).forEach((line, i) => {
    const fields = line.split(',');
    const label = Number(fields[fields.length - 2]);
    const prediction = Number(fields[fields.length - 1]);
    if (fields.length < 3 || !Number.isInteger(label) || label < 0 || !Number.isInteger(prediction) || prediction < 0) {
      throw new UserError(`${source}:${i + 2}: expected "impath,label,prediction" with class indices, got "${line}"`);
    }
    labels.push(label);
    predictions.push(prediction);
  });
  return { labels, predictions };
}

/**
 * The confusion matrix of a predictions.csv over `classnames` (K = their count, or max index + 1
 * with names "class <i>" when none are given or they are too few).
 */
export function confusionFromCsv(text: string, source: string, classnames?: readonly string[]): ConfusionInput {
  const { labels, predictions } = parsePredictionsCsv(text, source);
  const maxIndex = Math.max(-1, ...labels, ...predictions);
  const names = classnames && classnames.length > maxIndex ? classnames : Array.from({ length: maxIndex + 1 }, (_, i) => `class ${i}`);
  const k = names.length;
  const matrix = new Float64Array(k * k);
  labels.forEach((t, i) => { matrix[t * k + predictions[i]!]! += 1; });
  return { matrix, classnames: names };
}

/** Class names of datasets by (name, root), loaded once each; undefined when the dataset cannot be read. */
export class ClassnameLookup {
  private readonly cache = new Map<string, Promise<readonly string[] | undefined>>();

  /** The class names of `dataset` under `root`, or undefined (unknown dataset, data not on this machine). */
  get(dataset: string, root: string | undefined): Promise<readonly string[] | undefined> {
    if (root === undefined) return Promise.resolve(undefined);
    const key = JSON.stringify([dataset, root]);
    let p = this.cache.get(key);
    if (!p) {
      p = (async () => {
        try {
          return (await getDataset(dataset).load(root)).classnames;
        } catch {
          return undefined;
        }
      })();
      this.cache.set(key, p);
    }
    return p;
  }
}
