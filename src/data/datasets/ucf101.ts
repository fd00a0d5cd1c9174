/** UCF101 in CoOp's layout: `<root>/ucf101/UCF-101-midframes` images, `split_zhou_UCF101.json` (CoOp:datasets/ucf101.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'UCF101',
  dirName: 'ucf101', // CoOp's dataset_dir
  imageSubdir: 'UCF-101-midframes', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_UCF101.json', // the official split (regenerating it would shuffle differently)
});

/** UCF101 (101 actions, middle frames). */
export const ucf101: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a person doing {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
