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
export { resizePil, resizeCropPil, type CropRegion } from './image/resample.ts';
export { toRgb, crop, flipHorizontal } from './image/convert.ts';
export type { DecodedImage, RgbImage, ImageMode } from './image/types.ts';
// tracking: Tracker interface, MLflow REST client, offline store and sync
export * from './tracking/index.ts';
export { NumpyRandomState } from './data/numpy-random.ts';
export { downloadDataset, type DatasetDownloadOptions, type DatasetDownloadResult } from './data/download.ts';
export { backendInfo, type BackendInfo, type DeviceInfo } from './backend/info.ts';
// methods: zero-shot, linear probe, CoOp, LFA, IWPL behind one MethodDefinition contract
export { METHODS, getMethod, type AnyMethod } from './methods/registry.ts';
export { METHOD_NAMES, type MethodName, type MethodDefinition, type MethodContext, type MethodData, type MethodResult, type FeatureSource, type FeatureMatrix } from './methods/types.ts';
export { zeroShotMethod, zeroShotKnobsSchema, cosineLogits, type ZeroShotKnobs } from './methods/zero-shot.ts';
export { templatesFor, fillTemplate, type TemplateMode } from './methods/templates.ts';
export { classTextFeatures, type TextFeatureOptions } from './methods/text-prototypes.ts';
export { linearProbeMethod, linearProbeKnobsSchema, lpclipSample, searchC, LPCLIP_C_GRID, type LinearProbeKnobs, type CSearchResult } from './methods/linear-probe.ts';
export { LogisticRegressionProblem, type LogisticFitOptions, type LogisticSolution } from './methods/logistic-regression.ts';
export { coopMethod, coopKnobsSchema, coopEpochs, type CoopKnobs } from './methods/coop.ts';
export { PromptLearner, CLASS_TOKEN_POSITIONS, type ClassTokenPosition, type PromptLearnerOptions } from './methods/prompt-learner.ts';
export { readCtxFile } from './methods/ctx-file.ts';
export { lfaMethod, lfaKnobsSchema, LFA_ITERATIONS, type LfaKnobs } from './methods/lfa.ts';
export { procrustes, type OrthogonalMap } from './methods/procrustes.ts';
export { iwplMethod } from './methods/iwpl.ts';
export { iwplKnobsSchema, resolveIwplKnobs, type IwplKnobs } from './methods/iwpl-knobs.ts';
// train and eval: one training loop, optimisers and schedules as torch/Dassl, metrics as Dassl/scikit-learn
export { trainLoop } from './train/loop.ts';
export { createOptimizer, type Optimizer } from './train/optim.ts';
export { learningRate } from './train/schedule.ts';
export { minimizeLbfgs, type LbfgsOptions, type LbfgsResult } from './train/lbfgs.ts';
export type { TrainProblem, TrainOptions, TrainResult, TrainEvents, StepEvent, EpochEvent, OptimizerConfig, ScheduleConfig } from './train/types.ts';
export { argmaxRows, accuracy, confusionMatrix, perClassAccuracy, meanPerClassAccuracy } from './eval/metrics.ts';
export { formatPredictionsCsv, writePredictionsCsv, type PredictedItem } from './eval/predictions.ts';
// experiments: `iwpl run` as a library
export { loadExperiment, loadExperimentValue, parseOverride, type LoadedExperiment, type Override } from './experiment/load.ts';
export { runExperiment, ExperimentSession, logParentReport, type RunExperimentOptions, type ExperimentRunResult } from './experiment/run.ts';
export { readResults, type ResultRow } from './experiment/results.ts';
export { CachedFeatureSource, type CachedFeatureSourceOptions } from './experiment/feature-source.ts';
// viz: vega-lite specs, tables, headless SVG/PNG
export { npMean, npStd, meanSpread, formatFixed, formatMeanSpread, type Spread, type MeanSpread } from './viz/stats.ts';
export { PAPER_TABLE, paperAccuracy, paperDataset, paperMethod, datasetLabel, methodLabel, type PaperTable, type PaperDataset, type PaperMethod } from './viz/paper.ts';
export { summarize, type AccuracyRow, type GroupSummary, type SummaryOptions } from './viz/summary.ts';
export { resultsMarkdown, resultsCsv, type TableOptions } from './viz/table.ts';
export {
  accuracyCurveSpec, accuracyVsTrainPromptsSpec, accuracyVsTestTopKSpec, accuracyVsShotsSpec, summarizeCurve,
  type CurvePoint, type CurveOptions, type CurveSummary,
} from './viz/accuracy-curves.ts';
export { methodBarsSpec, type MethodBarsOptions } from './viz/method-bars.ts';
export { trainingCurvesSpec, stepEventPoints, TRAINING_METRICS, type MetricPoint as TrainingMetricPoint, type TrainingCurvesOptions } from './viz/training-curves.ts';
export { confusionHeatmapSpec, type ConfusionOptions } from './viz/confusion.ts';
export { compileSpec, renderSvg, renderSvgWithWarnings, svgToPng, renderPng, writeChart, type RenderedSvg, type PngOptions, type ChartFormat } from './viz/render.ts';
export { VEGA_LITE_SCHEMA, VEGA_LITE_MIME, CHART_CONFIG } from './viz/theme.ts';
// report: experiment summary (mean ± std over seeds, the paper beside), charts, `iwpl report`
export {
  buildReport, reportExperiment, writeReportFiles, planCharts, summaryGroups, summaryMarkdownTable, summaryCsv, summaryMetrics,
  type ReportRow, type ReportInput, type ReportFiles, type ReportExtra, type ExperimentReport, type SummaryJson,
} from './report/index.ts';
// the local MLflow UI (`iwpl ui`)
export { openUi, stopServer, stopRecordedServer, type UiOptions, type UiServer } from './tracking/ui.ts';
export { startMlflowServer, mlflowExecutable, checkPortFree, DEFAULT_SERVER_DATA_DIR } from './tracking/mlflow-process.ts';
// sweeps: one process per run, locally or as a Slurm job array
export { startSweep, type StartSweepOptions, type StartedSweep } from './sweep/start.ts';
export { runLocal, type LocalOptions } from './sweep/local.ts';
export { finishSweep, finishParent, type SweepOutcome } from './sweep/finish.ts';
export { writeSlurmScripts, submitSlurm, type SlurmOptions } from './sweep/slurm.ts';
export { readSweepState, type SweepState } from './sweep/state.ts';
