/** Food101 in CoOp's layout: `<root>/food-101/images` images, `split_zhou_Food101.json` (CoOp:datasets/food101.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'Food101',
  dirName: 'food-101', // CoOp's dataset_dir
  imageSubdir: 'images', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_Food101.json', // the official split (regenerating it would shuffle differently)
});

/** Food101 (101 dishes). */
export const food101: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of {}, a type of food.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
