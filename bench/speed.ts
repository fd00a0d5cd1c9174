/**
 * `npm run bench:speed`: one IWPL and one CoOp training step against PyTorch's CoOp step, and CLIP's
 * encode_image / encode_text against PyTorch, measured side by side in one invocation.
 *
 * Setting (issue 8): CLIP RN50 architecture with random weights (torch's init, made by the reference
 * and loaded here, so both run the same numbers), 102 Oxford Flowers class names, 4 shots, batch
 * 32, cached image features (random), fp32, the same thread count on both sides (TF's intra-op
 * threads; torch.set_num_threads). The reference is bench/ref/torch_speed.py: CoOp's step as CoOp's
 * code runs it (all 77 tokens, autograd with frozen weights) and openai-clip's encode_image /
 * encode_text, in a child process whose timings are interleaved with ours round by round, so a
 * change of machine load hits both. Parity is checked on the same inputs: CoOp logits at the
 * initial context, the context after one SGD step, IWPL prompt logits (torch: the same prompts at
 * 77 tokens), image and text features.
 *
 * Prints ONE JSON object on stdout. Without a Python that imports torch, clip and safetensors it
 * prints which reference it skipped and exits 1. Options (env or --flags): BENCH_SPEED_MODEL (RN50) or
 * BENCH_SPEED_CONFIG (a config JSON file, e.g. a tiny one for tests), BENCH_SPEED_CLASSES (102),
 * BENCH_SPEED_SHOTS (4), BENCH_SPEED_BATCH (32), BENCH_SPEED_REPS (3 timed rounds),
 * BENCH_SPEED_IMAGE_BATCH (8), BENCH_SPEED_TEXT_BATCH (32). Python: IWPL_REF_PYTHON, else
 * .venv-bench, else .venv-ref (bench/setup-ref.sh makes one).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { activeNativeSettings, initBackend } from '../src/backend/select.ts';
import { getClipConfig } from '../src/clip/config-registry.ts';
import type { ClipConfig } from '../src/clip/config.ts';
import { ClipModel } from '../src/clip/model.ts';
import { ClipTokenizer } from '../src/clip/tokenizer.ts';
import { loadStateDict } from '../src/clip/weights/load.ts';
import { validateStateDict } from '../src/clip/weights/state-dict.ts';
import { parseSafetensors, serializeSafetensors, type Float32Tensor } from '../src/io/safetensors.ts';
import { imageFlops, textFlops } from './clip-flops.ts';
import { findRefPython, REPO_ROOT } from './ref-python.ts';
import { CoopBenchStep, IwplBenchStep, IWPL_BENCH_KNOBS, type BenchStep, type StepInputs } from './speed-steps.ts';
import { TorchReference, type Timing } from './speed-torch.ts';
import { coopReferencePass, textTrainFlops } from './speed-flops.ts';
import { textPassOf } from './speed-passes.ts';

const env = (key: string, fallback: string): string => process.env[key] || fallback;
const SETTINGS = Object.freeze({
  model: env('BENCH_SPEED_MODEL', 'RN50'),
  config: process.env.BENCH_SPEED_CONFIG,
  classes: Number(env('BENCH_SPEED_CLASSES', '102')),
  shots: Number(env('BENCH_SPEED_SHOTS', '4')),
  batch: Number(env('BENCH_SPEED_BATCH', '32')),
  reps: Number(env('BENCH_SPEED_REPS', '3')),
  imageBatch: Number(env('BENCH_SPEED_IMAGE_BATCH', '8')),
  textBatch: Number(env('BENCH_SPEED_TEXT_BATCH', '32')),
  nCtx: 16,
  seed: 1,
});

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
/** Three significant digits: tiny test configurations must not round a rate to 0. */
const sig = (x: number): number => Number(x.toPrecision(3));
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`parity: ${a.length} values vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
/** Lets the other side's spinning threads go idle before a timing starts. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));
const load1 = (): number => round(loadavg()[0]!, 2);

/** Wall and process CPU time of one call (CPU: all threads; less sensitive to machine load). */
function timeOurs(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpu: (c.user + c.system) / 1000 };
}

function tensorOf(content: Map<string, Float32Tensor>, key: string): Float32Tensor {
  const t = content.get(key);
  if (!t) throw new Error(`torch_speed.py wrote no '${key}'`);
  return t;
}

function flowersClassnames(count: number): string[] {
  const all = JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'ref', 'flowers102-classnames.json'), 'utf8')) as string[];
  return Array.from({ length: count }, (_, i) => (i < all.length ? all[i]! : `${all[i % all.length]!} ${Math.floor(i / all.length)}`));
}

function configFromSettings(): ClipConfig {
  if (SETTINGS.config) return JSON.parse(readFileSync(SETTINGS.config, 'utf8')) as ClipConfig;
  return getClipConfig(SETTINGS.model);
}

/** NCHW → NHWC. */
function toNhwc(t: Float32Tensor): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(t.data, t.shape as [number, number, number, number]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
}

async function main(): Promise<number> {
  const backend = await initBackend();
  const tfVersion = (tf.backend() as { binding?: { TF_Version?: string } }).binding?.TF_Version;
  const threads = activeNativeSettings()?.intraOpThreads ?? 1; // wasm and cpu run one thread
  const py = findRefPython(['torch', 'clip', 'safetensors'], 'torch 2.15 + openai-clip (bash bench/setup-ref.sh)');
  if (!('python' in py)) {
    process.stdout.write(`${JSON.stringify({ bench: 'speed', backend, skipped: { torch: py.skipped } })}\n`);
    return 1;
  }
  const config = configFromSettings();
  const classnames = flowersClassnames(SETTINGS.classes);
  const dir = mkdtempSync(join(tmpdir(), 'iwpl-bench-speed-'));
  const torch = TorchReference.start(py.python, { OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) });
  const disposers: Array<{ dispose(): void }> = [];
  try {
    const setup = await torch.send({
      cmd: 'setup', dir, config, classnames, shots: SETTINGS.shots, batch: SETTINGS.batch, n_ctx: SETTINGS.nCtx,
      image_batch: SETTINGS.imageBatch, text_batch: SETTINGS.textBatch, threads, seed: SETTINGS.seed,
    });
    const modelPath = join(dir, 'model.safetensors');
    const model = ClipModel.fromStateDict(validateStateDict(await loadStateDict(modelPath), config, modelPath), config);
    disposers.push(model);
    const tokenizer = await ClipTokenizer.load(process.env.IWPL_VOCAB || String(setup.vocab));
    const inputs = parseSafetensors(readFileSync(join(dir, 'inputs.safetensors')), 'inputs.safetensors').tensors;
    const reference = parseSafetensors(readFileSync(join(dir, 'reference.safetensors')), 'reference.safetensors').tensors;
    const train = tensorOf(inputs, 'train_features');
    const stepInputs: StepInputs = {
      classnames,
      train: { data: train.data, rows: train.shape[0]!, dim: train.shape[1]! },
      labels: Array.from(tensorOf(inputs, 'labels').data),
      batch: Int32Array.from(tensorOf(inputs, 'batch_index').data),
      seed: SETTINGS.seed,
    };
    const ctx0 = tensorOf(inputs, 'ctx');

    // Parity, on the initial state (the first step doubles as the warm-up).
    const coop = new CoopBenchStep(model, tokenizer, stepInputs, tf.tensor2d(ctx0.data, ctx0.shape as [number, number]));
    disposers.push(coop);
    const coopLogitDiff = maxAbsDiff(coop.logits(), tensorOf(reference, 'coop_logits').data);
    coop.run();
    const ctxStepDiff = maxAbsDiff(coop.context(), tensorOf(reference, 'ctx_after_step').data);
    const iwpl = new IwplBenchStep(model, tokenizer, stepInputs);
    disposers.push(iwpl);
    const ours = iwpl.promptLogits(0);
    const v = iwpl.variables();
    const iwplPath = join(dir, 'iwpl.safetensors');
    writeFileSync(iwplPath, serializeSafetensors(new Map([
      ['global', { shape: v.globalShape, data: v.global }],
      ['instance', { shape: v.instanceShape, data: v.instance }],
      ['prompts', { shape: [ours.prompts.length], data: Float32Array.from(ours.prompts) }],
      ['batch', { shape: [stepInputs.batch.length], data: Float32Array.from(stepInputs.batch) }],
    ])));
    await torch.send({ cmd: 'iwpl_logits', path: iwplPath });
    const iwplOut = parseSafetensors(readFileSync(`${iwplPath}.out.safetensors`), 'iwpl out').tensors;
    const iwplLogitDiff = maxAbsDiff(ours.logits, tensorOf(iwplOut, 'logits').data);
    iwpl.run();

    const pixels = toNhwc(tensorOf(inputs, 'images'));
    const textIds = tf.tensor2d(Int32Array.from(tensorOf(inputs, 'text_ids').data), tensorOf(inputs, 'text_ids').shape as [number, number], 'int32');
    disposers.push(pixels, textIds);
    const imageFeatures = tf.tidy(() => model.encodeImage(pixels).dataSync());
    const textFeatures = tf.tidy(() => model.encodeText(textIds).dataSync());
    const imageDiff = maxAbsDiff(imageFeatures, tensorOf(reference, 'image_features').data);
    const textDiff = maxAbsDiff(textFeatures, tensorOf(reference, 'text_features').data);
    const encodeTextFull = (): void => tf.tidy(() => {
      const eot = Array.from(textIds.argMax(1).dataSync());
      model.encodeTextEmbeddings(model.tokenEmbedding(textIds) as tf.Tensor3D, eot, { truncate: false }).dataSync();
    });
    encodeTextFull(); // warm-up
    await torch.time('encode_image', 1); // warm-ups of torch's encoders
    await torch.time('encode_text', 1);

    // Interleaved rounds: ours, then torch, for each measurement.
    const t = { iwpl: [] as Timing[], coop: [] as Timing[], torchCoop: [] as Timing[], image: [] as Timing[], torchImage: [] as Timing[],
      text: [] as Timing[], textFull: [] as Timing[], torchText: [] as Timing[] };
    const loads: number[] = [];
    const step = (s: BenchStep): Timing => timeOurs(() => s.run());
    for (let r = 0; r < SETTINGS.reps; r++) {
      loads.push(load1());
      await settle(); t.iwpl.push(step(iwpl));
      await settle(); t.torchCoop.push(...await torch.time('coop_step', 1));
      await settle(); t.coop.push(step(coop));
      await settle(); t.image.push(timeOurs(() => tf.tidy(() => { model.encodeImage(pixels).dataSync(); })));
      await settle(); t.torchImage.push(...await torch.time('encode_image', 1));
      await settle(); t.text.push(timeOurs(() => tf.tidy(() => { model.encodeText(textIds).dataSync(); })));
      await settle(); t.textFull.push(timeOurs(encodeTextFull));
      await settle(); t.torchText.push(...await torch.time('encode_text', 1));
    }
    // Peak matMul throughput of both, same shape, best of 5.
    const n = 1024;
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 3) as tf.Tensor2D;
    disposers.push(a);
    tf.matMul(a, a).dispose();
    const oursPeak = Math.min(...Array.from({ length: 5 }, () => timeOurs(() => { tf.matMul(a, a).dataSync(); }).ms));
    const torchPeak = Math.min(...(await torch.time('peak', 5)).map((x) => x.ms));
    const peakGflops = (ms: number): number => round(2 * n ** 3 / ms / 1e6, 1);

    // FLOPs: ours as our code runs the step, torch's as CoOp's code does.
    const size = { width: config.text.width, layers: config.text.layers, embedDim: config.embedDim };
    const refFlops = textTrainFlops(size, coopReferencePass(classnames.length, config.text.contextLength));
    const iwplFlops = textTrainFlops(size, textPassOf(model.text, iwpl.eotOfStep(1), 1 + IWPL_BENCH_KNOBS.nGlobalCtx));
    const coopFlops = textTrainFlops(size, textPassOf(model.text, coop.eot, 1 + SETTINGS.nCtx));
    const wall = (xs: Timing[]): number[] => xs.map((x) => x.ms);
    /** Median over rounds of torch's time ÷ ours (wall, or CPU with `cpu`). */
    const perRound = (num: Timing[], den: Timing[], cpu = false): number =>
      median(num.map((x, i) => (cpu ? x.cpu / den[i]!.cpu : x.ms / den[i]!.ms)));
    const ms = (xs: Timing[]): number => round(median(wall(xs)), 1);
    const perS = (units: number, xs: Timing[]): number => round(units / (median(wall(xs)) / 1000), 2);

    const result = {
      bench: 'speed',
      backend,
      tf_version: tfVersion ?? null,
      threads,
      torch_threads: setup.threads,
      torch_version: setup.torch,
      model: config.name,
      classes: classnames.length,
      shots: SETTINGS.shots,
      batch: SETTINGS.batch,
      rounds: SETTINGS.reps,
      load_avg_1m: loads,
      iwpl_step_ms: ms(t.iwpl),
      // The step's knobs: textChunk is unbounded here (one text pass per step); the method's default
      // (32) bounds memory with one extra forward pass, which makes a step slower.
      iwpl_knobs: IWPL_BENCH_KNOBS,
      coop_step_ms: ms(t.coop),
      torch_coop_step_ms: ms(t.torchCoop),
      speedup_vs_torch: round(perRound(t.torchCoop, t.iwpl), 2),
      coop_speedup_vs_torch: round(perRound(t.torchCoop, t.coop), 2),
      flops_ratio: round(refFlops / iwplFlops, 2),
      coop_flops_ratio: round(refFlops / coopFlops, 2),
      max_abs_logit_diff: Number(Math.max(coopLogitDiff, iwplLogitDiff).toExponential(2)),
      parity: {
        coop_logits_max_abs_diff: Number(coopLogitDiff.toExponential(2)),
        iwpl_prompt_logits_max_abs_diff: Number(iwplLogitDiff.toExponential(2)),
        iwpl_prompts_checked: ours.prompts.length,
        coop_ctx_after_sgd_step_max_abs_diff: Number(ctxStepDiff.toExponential(2)),
        image_features_max_abs_diff: Number(imageDiff.toExponential(2)),
        text_features_max_abs_diff: Number(textDiff.toExponential(2)),
      },
      cpu_time_ratio: {
        what: 'torch process CPU time / ours (all threads), median over rounds: less sensitive to machine load than wall time; spinning thread pools count',
        iwpl_step: round(perRound(t.torchCoop, t.iwpl, true), 2),
        coop_step: round(perRound(t.torchCoop, t.coop, true), 2),
        encode_image: round(perRound(t.torchImage, t.image, true), 2),
        encode_text: round(perRound(t.torchText, t.text, true), 2),
        encode_text_all_77_tokens: round(perRound(t.torchText, t.textFull, true), 2),
      },
      gflops_achieved: {
        iwpl_step: sig(iwplFlops / median(wall(t.iwpl)) / 1e6),
        coop_step: sig(coopFlops / median(wall(t.coop)) / 1e6),
        torch_coop_step: sig(refFlops / median(wall(t.torchCoop)) / 1e6),
        encode_image: sig(imageFlops(config) * SETTINGS.imageBatch / median(wall(t.image)) / 1e6),
        torch_encode_image: sig(imageFlops(config) * SETTINGS.imageBatch / median(wall(t.torchImage)) / 1e6),
      },
      gflops_peak_matmul: { ours: peakGflops(oursPeak), torch: peakGflops(torchPeak), shape: `${n}x${n}x${n}` },
      step_flops: { iwpl: round(iwplFlops / 1e9, 1), coop: round(coopFlops / 1e9, 1), torch_coop: round(refFlops / 1e9, 1), unit: 'GFLOP' },
      images_per_s: { ours: perS(SETTINGS.imageBatch, t.image), torch: perS(SETTINGS.imageBatch, t.torchImage),
        ratio: round(perRound(t.torchImage, t.image), 2), batch: SETTINGS.imageBatch },
      texts_per_s: {
        ours: perS(SETTINGS.textBatch, t.text), ours_all_77_tokens: perS(SETTINGS.textBatch, t.textFull),
        torch: perS(SETTINGS.textBatch, t.torchText), ratio: round(perRound(t.torchText, t.text), 2),
        ratio_all_77_tokens: round(perRound(t.torchText, t.textFull), 2), batch: SETTINGS.textBatch,
        note: 'ours = encodeText on the 77-token ids (stops at the last EOT, exact); ours_all_77_tokens runs every position',
        text_gflop_per_text_77_tokens: round(textFlops(config, config.text.contextLength) / 1e9, 3),
      },
      times_ms: Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, xs.map((x) => round(x.ms, 1))])),
      cpu_ms: Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, xs.map((x) => round(x.cpu, 1))])),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      cpus: availableParallelism(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
    return 0;
  } finally {
    for (const d of disposers.reverse()) d.dispose();
    await torch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
