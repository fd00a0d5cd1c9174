/**
 * Classification metrics over integer predictions and labels, as Dassl's Classification evaluator
 * reports them (dassl/evaluation/evaluator.py): accuracy = 100·correct/total, per-class accuracy
 * and its mean over the classes that occur, and the confusion matrix. Pure functions on plain arrays.
 */

/** Integer class indices (one per example). */
export type Labels = ArrayLike<number>;

function checkLabels(name: string, values: Labels, classes: number | undefined): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || (classes !== undefined && v >= classes)) {
      throw new RangeError(`${name}[${i}] = ${v} is not a class index${classes === undefined ? '' : ` in 0…${classes - 1}`}`);
    }
  }
}

function checkPair(predictions: Labels, labels: Labels, classes?: number): void {
  if (predictions.length !== labels.length) {
    throw new RangeError(`${predictions.length} predictions for ${labels.length} labels`);
  }
  if (labels.length === 0) throw new RangeError('no examples to score');
  if (classes !== undefined && !(Number.isInteger(classes) && classes > 0)) throw new RangeError(`classes = ${classes} must be a positive integer`);
  checkLabels('predictions', predictions, classes);
  checkLabels('labels', labels, classes);
}

/**
 * The index of the largest score in every row of a row-major [rows, classes] matrix. Ties go to
 * the lowest index and a NaN counts as larger than any number (the first NaN wins), as
 * numpy.argmax and torch.argmax do.
 * @example argmaxRows(Float32Array.of(0.1, 0.7, 0.7, 0.2), 2) // Int32Array [1, 0]
 */
export function argmaxRows(scores: ArrayLike<number>, classes: number): Int32Array {
  if (!(Number.isInteger(classes) && classes > 0)) throw new RangeError(`classes = ${classes} must be a positive integer`);
  if (scores.length % classes !== 0) throw new RangeError(`${scores.length} scores do not form rows of ${classes}`);
  const rows = scores.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let best = 0, bestValue = scores[base]!;
    if (!Number.isNaN(bestValue)) {
      for (let c = 1; c < classes; c++) {
        const v = scores[base + c]!;
        if (Number.isNaN(v)) { best = c; break; }
        if (v > bestValue) { best = c; bestValue = v; }
      }
    }
    out[r] = best;
  }
  return out;
}

/** Number of predictions equal to their label. */
export function correctCount(predictions: Labels, labels: Labels): number {
  checkPair(predictions, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct;
}

/**
 * Accuracy in percent, as Dassl: 100 · correct / total.
 * @example accuracy([0, 1, 1], [0, 1, 0]) // 66.666…
 */
export function accuracy(predictions: Labels, labels: Labels): number {
  return (100 * correctCount(predictions, labels)) / labels.length;
}

/**
 * The confusion matrix, row-major [classes × classes]: entry (t, p) counts examples of true class
 * t predicted as p (rows = true labels, as scikit-learn's confusion_matrix).
 */
export function confusionMatrix(predictions: Labels, labels: Labels, classes: number): Int32Array {
  checkPair(predictions, labels, classes);
  const out = new Int32Array(classes * classes);
  for (let i = 0; i < labels.length; i++) out[labels[i]! * classes + predictions[i]!]!++;
  return out;
}

/**
 * Accuracy of each class in percent (correct / examples of that class), NaN for a class with no
 * examples.
 */
export function perClassAccuracy(predictions: Labels, labels: Labels, classes: number): Float64Array {
  checkPair(predictions, labels, classes);
  const total = new Float64Array(classes), correct = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    total[labels[i]!]!++;
    if (predictions[i] === labels[i]) correct[labels[i]!]!++;
  }
  return total.map((t, c) => (t === 0 ? NaN : (100 * correct[c]!) / t));
}

/**
 * Mean per-class accuracy in percent over the classes that have examples (Dassl's "average" when
 * per-class results are on; scikit-learn's balanced_accuracy_score × 100).
 */
export function meanPerClassAccuracy(predictions: Labels, labels: Labels, classes: number): number {
  const per = perClassAccuracy(predictions, labels, classes).filter((a) => !Number.isNaN(a));
  return per.reduce((a, b) => a + b, 0) / per.length;
}
