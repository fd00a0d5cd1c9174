/**
 * Where each dataset's files come from (CoOp:DATASETS.md: the original publishers' archives and
 * CoOp's split files on Google Drive), what they must be, and how they go into CoOp's layout.
 *
 * Checksums. Pinned SHA-256s and sizes come from TensorFlow Datasets' recorded checksums of the
 * same URLs (tensorflow/datasets: datasets/oxford_iiit_pet/checksums.tsv,
 * url_checksums/oxford_flowers102.txt, datasets/caltech101/checksums.tsv, url_checksums/fgvc.txt);
 * they were not recomputed here (no dataset host is reachable from where this was written).
 * CoOp's Google Drive files (split_zhou_*.json, cat_to_name.json) have no published checksum:
 * they are checked after extraction instead (the split must name images that exist, with CoOp's
 * number of classes and images; see `expect`).
 *
 * | Dataset      | File                          | SHA-256 (size)                         | Source of the pin      |
 * |--------------|-------------------------------|----------------------------------------|------------------------|
 * | OxfordPets   | images.tar.gz                 | 67195c5e… (791,918,971)                | TFDS oxford_iiit_pet   |
 * | OxfordPets   | annotations.tar.gz            | 52425fb6… (19,173,078)                 | TFDS oxford_iiit_pet   |
 * | OxfordPets   | split_zhou_OxfordPets.json    | none: structure checked                | (Google Drive)         |
 * | Flowers102   | 102flowers.tgz                | 2d01ecc8… (344,862,509)                | TFDS oxford_flowers102 |
 * | Flowers102   | imagelabels.mat               | 4903e942… (502)                        | TFDS oxford_flowers102 |
 * | Flowers102   | cat_to_name.json              | none: structure checked                | (Google Drive)         |
 * | Flowers102   | split_zhou_OxfordFlowers.json | none: structure checked                | (Google Drive)         |
 * | Caltech101   | caltech-101.zip               | 33123475… (137,414,764)                | TFDS caltech101        |
 * | Caltech101   | 101_ObjectCategories.tar.gz   | af6ece2f… (131,740,031), --from only   | TFDS caltech101        |
 * | Caltech101   | split_zhou_Caltech101.json    | none: structure checked                | (Google Drive)         |
 * | FGVCAircraft | fgvc-aircraft-2013b.tar.gz    | d5f68b1b… (2,770,575,360)              | TFDS fgvc              |
 */

/** How a file goes into the dataset folder. */
export type InstallStep =
  /** Copied to `<dataset folder>/<to>`. */
  | { readonly kind: 'file'; readonly to: string }
  /** A tar archive (gzip or not): entries under `from` ('' = all) go to `<dataset folder>/<to><rest>`. */
  | { readonly kind: 'tar'; readonly from: string; readonly to: string }
  /** A tar archive stored as `entry` inside a zip archive, then as `tar`. */
  | { readonly kind: 'zip-tar'; readonly entry: string; readonly from: string; readonly to: string };

/** One file of a dataset. */
export interface SourceFile {
  /** Its name in the download folder and in a `--from` folder, e.g. "images.tar.gz". */
  readonly file: string;
  /** Where it is published, tried in order (the next one after an HTTP error or no answer). */
  readonly urls: readonly string[];
  /** The Google Drive file id when it lives there (a web page instead of the file is then a manual step). */
  readonly driveId?: string;
  /** Lower-case hex SHA-256, where it could be established. */
  readonly sha256?: string;
  /** Size in bytes, where known. */
  readonly size?: number;
  /** Where the pin comes from, or why there is none. */
  readonly checksum: string;
  readonly install: InstallStep;
  /** Other files that may stand in for this one when found in a `--from` folder (never downloaded). */
  readonly alternatives?: readonly SourceFile[];
}

/** Everything needed to build one dataset folder. */
export interface DatasetSource {
  /** The files, fetched in this order (the small Google Drive files first: a manual step shows before gigabytes arrive). */
  readonly files: readonly SourceFile[];
  /** What the finished folder must hold: CoOp's classes and images over train + val + test (coop-spec §5). */
  readonly expect: { readonly classes: number; readonly images: number };
  /** Terms of use worth a line, shown before the download. */
  readonly terms?: string;
}

/** Google Drive's direct download address of a file id. */
export const driveUrl = (id: string): string => `https://drive.google.com/uc?export=download&id=${id}`;

/** The Drive page a person opens to download a file by hand. */
export const drivePage = (id: string): string => `https://drive.google.com/file/d/${id}/view`;

/** A CoOp file on Google Drive, copied into the dataset folder. */
function driveFile(file: string, id: string): SourceFile {
  return { file, urls: [driveUrl(id)], driveId: id, checksum: 'none published (CoOp\'s Google Drive file): checked by structure after extraction', install: { kind: 'file', to: file } };
}

const TFDS = 'TFDS';

/** Download sources by CoOp dataset name (DatasetSpec.name). */
export const DATASET_SOURCES: Readonly<Record<string, DatasetSource>> = Object.freeze({
  OxfordPets: {
    files: [
      driveFile('split_zhou_OxfordPets.json', '1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs'),
      {
        file: 'annotations.tar.gz',
        // CoOp's address first; VGG now serves the files from thor.robots.ox.ac.uk (TFDS's address).
        urls: ['https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz', 'https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz'],
        sha256: '52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91', size: 19173078,
        checksum: `${TFDS} datasets/oxford_iiit_pet/checksums.tsv`,
        install: { kind: 'tar', from: 'annotations/', to: 'annotations/' },
      },
      {
        file: 'images.tar.gz',
        urls: ['https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz', 'https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz'],
        sha256: '67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d', size: 791918971,
        checksum: `${TFDS} datasets/oxford_iiit_pet/checksums.tsv`,
        install: { kind: 'tar', from: 'images/', to: 'images/' },
      },
    ],
    expect: { classes: 37, images: 7349 },
  },
  OxfordFlowers: {
    files: [
      driveFile('split_zhou_OxfordFlowers.json', '1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT'),
      driveFile('cat_to_name.json', '1AkcxCXeK_RCGCEC_GvmWxjcjaNhu-at0'),
      {
        file: 'imagelabels.mat',
        urls: ['https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat'],
        sha256: '4903e94206bac23bf772aadf06451916df56b58fc483a62db32a97b82656651d', size: 502,
        checksum: `${TFDS} url_checksums/oxford_flowers102.txt`,
        install: { kind: 'file', to: 'imagelabels.mat' },
      },
      {
        file: '102flowers.tgz',
        urls: ['https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz'],
        sha256: '2d01ecc807db462958cfe3d92f57a8c252b4abd240eb955770201e45f783b246', size: 344862509,
        checksum: `${TFDS} url_checksums/oxford_flowers102.txt`,
        install: { kind: 'tar', from: 'jpg/', to: 'jpg/' },
      },
    ],
    expect: { classes: 102, images: 8189 },
  },
  Caltech101: {
    files: [
      driveFile('split_zhou_Caltech101.json', '1hyarUivQE36mY6jSomru6Fjd-JzwcCzN'),
      {
        // CoOp's address (vision.caltech.edu/Image_Datasets/Caltech101/101_ObjectCategories.tar.gz) is
        // gone; Caltech's data repository serves a zip holding the same tar.gz.
        file: 'caltech-101.zip',
        urls: ['https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip?download=1'],
        sha256: '331234750fc7f77520e50d9565e8b6907b03565e30320da1401130db08c61f91', size: 137414764,
        checksum: `${TFDS} datasets/caltech101/checksums.tsv`,
        install: { kind: 'zip-tar', entry: 'caltech-101/101_ObjectCategories.tar.gz', from: '101_ObjectCategories/', to: '101_ObjectCategories/' },
        alternatives: [{
          file: '101_ObjectCategories.tar.gz',
          urls: [],
          sha256: 'af6ece2f339791ca20f855943d8b55dd60892c0a25105fcd631ee3d6430f9926', size: 131740031,
          checksum: `${TFDS} datasets/caltech101/checksums.tsv (its Google Drive copy)`,
          install: { kind: 'tar', from: '101_ObjectCategories/', to: '101_ObjectCategories/' },
        }],
      },
    ],
    expect: { classes: 100, images: 8242 },
  },
  FGVCAircraft: {
    files: [{
      file: 'fgvc-aircraft-2013b.tar.gz',
      urls: ['https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz'],
      sha256: 'd5f68b1b81d6d7831eb9d5c5517074176b5dfbce6bcb43dc14ed1c66a87b8d75', size: 2770575360,
      checksum: `${TFDS} url_checksums/fgvc.txt`,
      // CoOp keeps only data/, renamed fgvc_aircraft/
      install: { kind: 'tar', from: 'fgvc-aircraft-2013b/data/', to: '' },
    }],
    expect: { classes: 100, images: 10000 },
    terms: 'FGVC-Aircraft images are for non-commercial research purposes only (https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/)',
  },
});
