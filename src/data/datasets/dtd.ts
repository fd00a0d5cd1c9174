/** DescribableTextures in CoOp's layout: `<root>/dtd/images` images, `split_zhou_DescribableTextures.json` (CoOp:datasets/dtd.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'DescribableTextures',
  dirName: 'dtd', // CoOp's dataset_dir
  imageSubdir: 'images', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_DescribableTextures.json', // the official split (regenerating it would shuffle differently)
});

/** DescribableTextures (47 textures). */
export const dtd: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: '{} texture.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
