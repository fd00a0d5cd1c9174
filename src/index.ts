/** The public entry of the iwpl library (notebooks and other programs import only this). */
export { initBackend, activeBackend, BACKEND_NAMES, type BackendName } from './backend/select.ts';
export { UserError } from './util/errors.ts';
// data: datasets in CoOp's layout, Dassl-identical few-shot sampling, augmentation views, feature cache
export { DATASETS, getDataset } from './data/registry.ts';
export type { Datum, DatasetSpec, DatasetSplits, SplitName } from './data/types.ts';
export { cleanClassname, toSplitEntries } from './data/splits.ts';
export { PyRandom } from './data/rng.ts';
export { coopFewShot, generateFewShot } from './data/few-shot.ts';
export { readDatumPickle, matchDatums, datasetFewShot, fewShotPicklePath } from './data/pickle-datums.ts';
export { checkDataset, type CheckReport } from './data/check.ts';
export { augmentImage, randomResizedCropBox, COOP_AUGMENT, type AugmentConfig } from './data/augment.ts';
export { augmentedView, viewPreprocessId, DEFAULT_VIEW_BANK, type ViewBankConfig } from './data/view-bank.ts';
export { extractFeatures, readCachedFeatures, type FeatureKey, type FeatureSet } from './data/feature-cache.ts';
// clip model: OpenAI's CLIP on tfjs (weights from .pt / state dict / safetensors), prompt-learning entry
export { ClipModel, loadClip } from './clip/model.ts';
export { ClipTokenizer, resolveVocabPath, type VocabLocation } from './clip/tokenizer.ts';
export { TextTransformer, type EncodeTextOptions } from './clip/text-transformer.ts';
export { embed, embedWithModel, type EmbedResult, type EmbedOptions } from './clip/embed.ts';
export { preprocessForClip, preprocessFileForClip, CLIP_MEAN, CLIP_STD } from './clip/preprocess.ts';
export type { ClipConfig, ResNetVisionConfig, VitVisionConfig, TextConfig } from './clip/config.ts';
export { CLIP_CONFIGS, getClipConfig } from './clip/config-registry.ts';
export { inferClipConfig } from './clip/config-infer.ts';
export { loadStateDict, type StateDict } from './clip/weights/load.ts';
export { validateStateDict } from './clip/weights/state-dict.ts';
export { PRETRAINED, getPretrained } from './clip/pretrained.ts';
export { downloadPretrained } from './clip/download.ts';
// image: Pillow-exact decoding and resampling
export { decodeImage } from './image/decode.ts';
export { resizePil } from './image/resample.ts';
export { toRgb, crop, flipHorizontal } from './image/convert.ts';
export type { DecodedImage, RgbImage, ImageMode } from './image/types.ts';
// tracking: Tracker interface, MLflow REST client, offline store and sync
export * from './tracking/index.ts';
