/** SUN397 in CoOp's layout: `<root>/sun397/SUN397` images, `split_zhou_SUN397.json` (CoOp:datasets/sun397.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'SUN397',
  dirName: 'sun397', // CoOp's dataset_dir
  imageSubdir: 'SUN397', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_SUN397.json', // the official split (regenerating it would shuffle differently)
});

/** SUN397 (397 scenes). */
export const sun397: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a {}.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
