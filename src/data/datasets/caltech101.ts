/** Caltech101 in CoOp's layout: `<root>/caltech-101/101_ObjectCategories` images, `split_zhou_Caltech101.json` (CoOp:datasets/caltech101.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'Caltech101',
  dirName: 'caltech-101', // CoOp's dataset_dir
  imageSubdir: '101_ObjectCategories', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_Caltech101.json', // the official split (regenerating it would shuffle differently)
});

/** Caltech101 (100 classes: BACKGROUND_Google and Faces_easy dropped, case-sensitive order, renamed airplane/face/leopard/motorbike). */
export const caltech101: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
