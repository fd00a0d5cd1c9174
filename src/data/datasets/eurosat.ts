/** EuroSAT in CoOp's layout: `<root>/eurosat/2750` images, `split_zhou_EuroSAT.json` (CoOp:datasets/eurosat.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'EuroSAT',
  dirName: 'eurosat', // CoOp's dataset_dir
  imageSubdir: '2750', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_EuroSAT.json', // the official split (regenerating it would shuffle differently)
});

/** EuroSAT (10 land-use classes, names as in the split file). */
export const eurosat: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a centered satellite photo of {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
