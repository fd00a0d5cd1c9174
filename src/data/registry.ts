/** The explicit dataset registry: CLI name → loader. No import side effects. */
import { UserError } from '../util/errors.ts';
import type { DatasetSpec } from './types.ts';
import { oxfordFlowers } from './datasets/oxford-flowers.ts';
import { caltech101 } from './datasets/caltech101.ts';
import { oxfordPets } from './datasets/oxford-pets.ts';
import { fgvcAircraft } from './datasets/fgvc-aircraft.ts';
import { dtd } from './datasets/dtd.ts';
import { eurosat } from './datasets/eurosat.ts';
import { food101 } from './datasets/food101.ts';
import { stanfordCars } from './datasets/stanford-cars.ts';
import { sun397 } from './datasets/sun397.ts';
import { ucf101 } from './datasets/ucf101.ts';
import { imagenet } from './datasets/imagenet.ts';
import { folder } from './datasets/folder.ts';

/** Every dataset by its canonical CLI name (CoOp's config file stem). */
export const DATASETS: Readonly<Record<string, DatasetSpec>> = Object.freeze({
  oxford_flowers: oxfordFlowers,
  caltech101,
  oxford_pets: oxfordPets,
  fgvc_aircraft: fgvcAircraft,
  dtd,
  eurosat,
  food101,
  stanford_cars: stanfordCars,
  sun397,
  ucf101,
  imagenet,
  folder,
});

/** Other accepted spellings → canonical name (CoOp class names are accepted too, case-insensitively). */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  flowers102: 'oxford_flowers',
  flowers: 'oxford_flowers',
  pets: 'oxford_pets',
  aircraft: 'fgvc_aircraft',
  describabletextures: 'dtd',
  cars: 'stanford_cars',
});

/**
 * Looks a dataset up by CLI name, alias or CoOp class name (case-insensitive, `-` = `_`).
 * @example getDataset('flowers102').name === 'OxfordFlowers'
 * @throws UserError listing the valid names.
 */
export function getDataset(name: string): DatasetSpec {
  const key = name.toLowerCase().replace(/-/g, '_');
  const direct = DATASETS[key] ?? DATASETS[ALIASES[key] ?? ''];
  if (direct) return direct;
  const byClass = Object.values(DATASETS).find((d) => d.name.toLowerCase() === key);
  if (byClass) return byClass;
  throw new UserError(`unknown dataset "${name}"; valid: ${Object.keys(DATASETS).join(', ')} (aliases: ${Object.keys(ALIASES).join(', ')})`);
}
