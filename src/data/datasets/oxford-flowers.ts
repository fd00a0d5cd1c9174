/** OxfordFlowers in CoOp's layout: `<root>/oxford_flowers/jpg` images, `split_zhou_OxfordFlowers.json` (CoOp:datasets/oxford_flowers.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'OxfordFlowers',
  dirName: 'oxford_flowers', // CoOp's dataset_dir
  imageSubdir: 'jpg', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_OxfordFlowers.json', // the official split (regenerating it would shuffle differently)
});

/** OxfordFlowers (102 classes; labels = imagelabels.mat − 1). */
export const oxfordFlowers: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a {}, a type of flower.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
