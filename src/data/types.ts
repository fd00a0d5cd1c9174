/** Plain types shared by the dataset loaders (each loader exports one {@link DatasetSpec}). */

/** One labelled image, as Dassl's `Datum`. */
export interface Datum {
  /** Absolute image path. */
  readonly impath: string;
  /** The path as the split source names it (relative to the image directory). */
  readonly relpath: string;
  /** Class index, 0-based. */
  readonly label: number;
  /** Class name as the source writes it (underscores kept, e.g. "american_pit_bull_terrier"). */
  readonly classname: string;
}

/** A dataset read from disk: its three splits and class names by label. */
export interface DatasetSplits {
  /** CoOp's dataset name, e.g. "OxfordFlowers". */
  readonly name: string;
  /** The dataset folder (`<root>/<dirName>`). */
  readonly dir: string;
  /** The folder that split paths are relative to. */
  readonly imageDir: string;
  readonly train: readonly Datum[];
  /** ImageNet has no val split: CoOp uses test as val there. */
  readonly val: readonly Datum[];
  readonly test: readonly Datum[];
  /** Raw class names, index = label (num_classes = max label + 1, as Dassl). */
  readonly classnames: readonly string[];
  /** Files read to build the splits (split JSON, txt lists), for `data check` and cache keys. */
  readonly sources: readonly string[];
}

/** Split names. */
export type SplitName = 'train' | 'val' | 'test';

/** A dataset loader: where CoOp keeps the dataset and how to read it. */
export interface DatasetSpec {
  /** CoOp's class name, e.g. "OxfordFlowers". */
  readonly name: string;
  /** Folder under the data root (CoOp's `dataset_dir`), e.g. "oxford_flowers". */
  readonly dirName: string;
  /** CoOp's zero-shot template (trainers/zsclip.py CUSTOM_TEMPLATES), "{}" = class name. */
  readonly template: string;
  /** Whether few-shot sampling also draws a val subset (false only for ImageNet). */
  readonly fewShotVal: boolean;
  /** Reads the splits from `<root>/<dirName>`; throws UserError naming the file at fault. */
  load(root: string): Promise<DatasetSplits>;
}
