/** StanfordCars in CoOp's layout: `<root>/stanford_cars/` images, `split_zhou_StanfordCars.json` (CoOp:datasets/stanford_cars.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'StanfordCars',
  dirName: 'stanford_cars', // CoOp's dataset_dir
  imageSubdir: '', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_StanfordCars.json', // the official split (regenerating it would shuffle differently)
});

/** StanfordCars (196 models; split paths include cars_train/ or cars_test/). */
export const stanfordCars: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
