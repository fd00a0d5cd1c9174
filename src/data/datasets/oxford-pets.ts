/** OxfordPets in CoOp's layout: `<root>/oxford_pets/images` images, `split_zhou_OxfordPets.json` (CoOp:datasets/oxford_pets.py). */
import type { DatasetSpec } from '../types.ts';
import { loadJsonSplitDataset, type JsonSplitLayout } from '../splits.ts';

const LAYOUT: JsonSplitLayout = Object.freeze({
  name: 'OxfordPets',
  dirName: 'oxford_pets', // CoOp's dataset_dir
  imageSubdir: 'images', // CoOp's image_dir, relative to dataset_dir
  splitFile: 'split_zhou_OxfordPets.json', // the official split (regenerating it would shuffle differently)
});

/** OxfordPets (37 breeds; label = classid − 1). */
export const oxfordPets: DatasetSpec = Object.freeze({
  name: LAYOUT.name,
  dirName: LAYOUT.dirName,
  template: 'a photo of a {}, a type of pet.', // CoOp trainers/zsclip.py CUSTOM_TEMPLATES
  fewShotVal: true,
  load: (root: string) => loadJsonSplitDataset(LAYOUT, root),
});
