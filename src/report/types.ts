/**
 * Plain inputs and outputs of the experiment report (src/report): result rows as `iwpl run` writes
 * them (a `ResultRow` of src/experiment/results.ts fits), optional training-metric histories and
 * confusion matrices per run, and the report's files by relative path.
 */

/** One finished run. `ResultRow` (results.json) is one: extra fields are ignored. */
export interface ReportRow {
  /** Dataset key, e.g. "oxford_flowers". */
  readonly dataset: string;
  /** Registry name of the method, e.g. "iwpl" (finds the paper's number). */
  readonly method: string;
  /** The method entry's label (= method unless the experiment file sets one). @default method */
  readonly label?: string;
  /** Shots per class; 0 for zero-shot. */
  readonly shots: number;
  /** Seed; 0 for zero-shot. */
  readonly seed: number;
  /** Test accuracy, percent. */
  readonly accuracy: number;
  /** Run name (`<label>-<dataset>-<shots>shot-s<seed>`); keys `histories` and `confusions`. */
  readonly runName: string;
  /**
   * The method's resolved knobs (config.json `method.knobs`, or the run's `method.*` / `optim.*`
   * params): where the knob charts read trainPromptsPerClass and testTopK. Absent = unknown.
   */
  readonly knobs?: Readonly<Record<string, unknown>>;
}

/** One logged value of a training metric (MLflow's metric history shape). */
export interface HistoryPoint {
  /** Metric key, e.g. "train/loss". */
  readonly key: string;
  readonly step: number;
  readonly value: number;
}

/** A run's confusion matrix: `matrix[t·K + p]` = test images of true class t predicted as p. */
export interface ConfusionInput {
  readonly matrix: ArrayLike<number>;
  /** Class names by label (K of them). */
  readonly classnames: readonly string[];
}

/** What {@link buildReport} reads. */
export interface ReportInput {
  /** What the report is about (the experiment's name); the Markdown's heading. @default 'experiment' */
  readonly title?: string;
  readonly rows: readonly ReportRow[];
  /** Training metric histories by run name (only `train/*` keys are drawn). */
  readonly histories?: Readonly<Record<string, readonly HistoryPoint[]>>;
  /** Confusion matrices by run name. */
  readonly confusions?: Readonly<Record<string, ConfusionInput>>;
  /** Render each chart to SVG and PNG besides its spec. @default true */
  readonly render?: boolean;
  /** PNG pixels per SVG unit. @default 2 */
  readonly pngScale?: number;
}

/** The report's files: relative path ("summary.md", "charts/methods.png") → content, in write order. */
export type ReportFiles = Readonly<Record<string, string | Uint8Array>>;

/** One (dataset, label, shots) group reduced over its seeds (np.mean, np.std with ddof 0). */
export interface SummaryGroup {
  readonly dataset: string;
  readonly method: string;
  readonly label: string;
  readonly shots: number;
  /** Seeds in row order. */
  readonly seeds: readonly number[];
  readonly n: number;
  readonly mean: number;
  /** np.std over the seeds (ddof 0, as Dassl's parse_test_res.py); 0 for one run. */
  readonly std: number;
  /** The paper's number for this dataset, method and shots, or null. */
  readonly paper: number | null;
  /** The runs in the group. */
  readonly runs: readonly string[];
}
