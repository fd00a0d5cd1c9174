/**
 * The one training loop of CoOp, LFA and IWPL. The method supplies a {@link TrainProblem}
 * (variables and a loss per batch); the loop owns batching (batches.ts), gradients, the optimiser
 * (optim.ts), the learning-rate schedule (schedule.ts), checkpoints and resume (checkpoint.ts),
 * events and the progress display. Same seed and backend → the same variables, bit for bit, whether
 * the run was interrupted and resumed or not.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import type { Float32Tensor } from '../io/safetensors.ts';
import { UserError } from '../util/errors.ts';
import { createProgress, type Progress } from '../util/progress.ts';
import { planEpoch, resolveDropLast, stepRng, stepsPerEpoch, type PlannedBatch } from './batches.ts';
import { CHECKPOINT_FILE, fingerprintOf, readCheckpoint, removeStaleTemps, writeCheckpoint, type Fingerprint } from './checkpoint.ts';
import { createOptimizer, type Optimizer } from './optim.ts';
import { learningRate, validateSchedule } from './schedule.ts';
import type { EpochEvent, TrainOptions, TrainProblem, TrainResult } from './types.ts';

function checkOptions(o: TrainOptions): void {
  const int = (key: string, v: number, min: number): void => {
    if (!(Number.isInteger(v) && v >= min)) throw new UserError(`training: ${key} = ${String(v)} is invalid (an integer ≥ ${min})`);
  };
  int('epochs', o.epochs, 0);
  int('batchSize', o.batchSize, 1);
  int('problem.size', o.problem.size, 1);
  int('problem.views', o.problem.views, 1);
  int('checkpointEveryEpochs', o.checkpointEveryEpochs ?? 1, 1);
  if (!Number.isSafeInteger(o.seed)) throw new UserError(`training: seed = ${String(o.seed)} is not an integer`);
  if (Object.keys(o.problem.variables).length === 0) throw new UserError('training: the problem has no variables to train');
  validateSchedule(o.schedule);
  if (stepsPerEpoch(o.problem.size, o.batchSize, o.dropLast) === 0) {
    throw new UserError(`training: no full batch of ${o.batchSize} in ${o.problem.size} items with dropLast = true (lower batchSize or keep the last batch)`);
  }
}

/** What must be equal for a checkpoint to be resumed exactly. */
function runFingerprint(o: TrainOptions): Fingerprint {
  return fingerprintOf({
    optimizer: o.optimizer,
    schedule: o.schedule,
    epochs: o.epochs,
    batchSize: o.batchSize,
    dropLast: resolveDropLast(o.dropLast, o.problem.size, o.batchSize),
    seed: o.seed,
    size: o.problem.size,
    views: o.problem.views,
    variables: Object.fromEntries(Object.entries(o.problem.variables).map(([k, v]) => [k, v.shape])),
  });
}

function snapshotVariables(variables: TrainProblem['variables']): Map<string, Float32Tensor> {
  return new Map(Object.entries(variables).map(([k, v]) => [k, { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) }]));
}

function assignVariables(variables: TrainProblem['variables'], saved: ReadonlyMap<string, Float32Tensor>, path: string): void {
  for (const [name, v] of Object.entries(variables)) {
    const t = saved.get(name);
    // The fingerprint covers names and shapes, so this only fires on a hand-edited file.
    if (t === undefined) throw new UserError(`checkpoint ${path} has no variable '${name}'`);
    tf.tidy(() => v.assign(tf.tensor(t.data, [...t.shape], 'float32')));
  }
}

/** Runs one optimisation step; returns the loss and the batch accuracy (percent) if reported. */
async function runStep(
  problem: TrainProblem, optimizer: Optimizer, varList: tf.Variable[], keyOf: ReadonlyMap<string, string>,
  batch: PlannedBatch, epoch: number, step: number, seed: number, lr: number,
): Promise<{ loss: number; acc?: number }> {
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = problem.loss({ indices: batch.indices, views: batch.views, step, epoch, rng: stepRng(seed, step) });
    // variableGrads disposes everything the loss made except its result: keep the count for reading.
    if (out.correct !== undefined) correct = tf.keep(out.correct);
    return out.loss;
  }, varList);
  try {
    const named: Record<string, tf.Tensor> = {};
    // null: a variable created with trainable = false (tfjs lists it without a gradient); skip it.
    for (const [tfName, g] of Object.entries(grads)) if (g != null) named[keyOf.get(tfName)!] = g;
    optimizer.apply(named, lr);
    const loss = (await value.data())[0]!;
    const acc = correct === undefined ? undefined : (100 * (await correct.data())[0]!) / batch.indices.length;
    return acc === undefined ? { loss } : { loss, acc };
  } finally {
    tf.dispose([value, ...Object.values(grads).filter((g) => g != null)]);
    correct?.dispose();
  }
}

/**
 * Trains `options.problem` in place. Per epoch: a seeded permutation of the training set in
 * batches (batches.ts); per step: gradients of the problem's loss over its variables
 * (tf.variableGrads), one optimiser update at the schedule's rate, a {@link StepEvent}; per epoch:
 * an {@link EpochEvent} with the mean of the batches' losses and accuracies (as Dassl's meters),
 * and a checkpoint when `checkpointDir` is set. A checkpoint of the same run found at the start is
 * resumed (its variables and optimiser state are loaded; a finished one returns at once).
 * @throws UserError for invalid options, a checkpoint of another run, or a non-finite loss.
 * @example const result = await trainLoop({ problem, optimizer: sgd, schedule, epochs: 50, batchSize: 32, dropLast: 'dassl', seed: 1, checkpointDir });
 */
export async function trainLoop(options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  checkOptions(options);
  const { problem, schedule, epochs, batchSize, seed, events } = options;
  const perEpoch = stepsPerEpoch(problem.size, batchSize, options.dropLast);
  const dropLast = resolveDropLast(options.dropLast, problem.size, batchSize);
  const label = options.progressLabel ?? 'train';
  const everyEpochs = options.checkpointEveryEpochs ?? 1;
  const path = options.checkpointDir === undefined ? undefined : join(options.checkpointDir, CHECKPOINT_FILE);
  const fingerprint = runFingerprint(options);
  const optimizer = createOptimizer(options.optimizer, problem.variables);
  try {
    let startEpoch = 0;
    if (path !== undefined) {
      await removeStaleTemps(path);
      const saved = await readCheckpoint(path, fingerprint);
      if (saved !== undefined) {
        assignVariables(problem.variables, saved.variables, path);
        optimizer.load(saved.optimizer);
        startEpoch = saved.epochsDone;
        if (saved.finished) {
          events?.onMessage?.(`${label}: finished run found in ${path}; loaded its variables`);
          return { epochs, steps: saved.step, stepsPerEpoch: perEpoch, resumedEpochs: startEpoch, alreadyFinished: true, elapsedMs: Date.now() - started };
        }
        events?.onMessage?.(`resumed from epoch ${startEpoch} (step ${saved.step}) of ${path}`);
      }
    }
    const varList = Object.values(problem.variables);
    const keyOf = new Map(Object.entries(problem.variables).map(([k, v]) => [v.name, k]));
    let progress: Progress | undefined;
    if (options.progress !== false) {
      progress = createProgress({ label, total: perEpoch * epochs, unit: 'step', ...options.progress });
      if (startEpoch > 0) progress.set(startEpoch * perEpoch, startEpoch * perEpoch); // resumed: not in the rate
    }
    let lastEpoch: EpochEvent | undefined;
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      const batches = planEpoch({ seed, epoch, size: problem.size, views: problem.views, batchSize, dropLast });
      let lossSum = 0, accSum = 0, accCount = 0, lr = 0;
      for (let b = 0; b < batches.length; b++) {
        const step = epoch * perEpoch + b;
        lr = learningRate(schedule, options.optimizer.lr, epoch, step);
        const t0 = performance.now();
        const { loss, acc } = await runStep(problem, optimizer, varList, keyOf, batches[b]!, epoch, step, seed, lr);
        if (!Number.isFinite(loss)) {
          throw new UserError(`${label}: the loss is ${loss} at epoch ${epoch}, step ${step} (lr ${lr}); lower the learning rate` +
            (path ? ` (the checkpoint of epoch ${epoch} in ${path} is kept)` : ''));
        }
        lossSum += loss;
        if (acc !== undefined) { accSum += acc; accCount++; }
        events?.onStep?.({ step, epoch, loss, ...(acc === undefined ? {} : { acc }), lr, stepMs: performance.now() - t0 });
        progress?.tick();
      }
      lastEpoch = {
        epoch, step: (epoch + 1) * perEpoch, loss: lossSum / batches.length,
        ...(accCount > 0 ? { acc: accSum / accCount } : {}), lr, epochMs: performance.now() - epochStart,
      };
      events?.onEpoch?.(lastEpoch);
      const last = epoch === epochs - 1;
      if (path !== undefined && (last || (epoch + 1) % everyEpochs === 0)) {
        await writeCheckpoint(path, {
          epochsDone: epoch + 1, step: (epoch + 1) * perEpoch, finished: last,
          variables: snapshotVariables(problem.variables), optimizer: optimizer.state(),
        }, fingerprint);
      }
    }
    progress?.done();
    return {
      epochs, steps: epochs * perEpoch, stepsPerEpoch: perEpoch, resumedEpochs: startEpoch, alreadyFinished: false,
      ...(lastEpoch === undefined ? {} : { lastEpoch }), elapsedMs: Date.now() - started,
    };
  } finally {
    optimizer.dispose();
  }
}
