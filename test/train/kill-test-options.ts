/** The run the kill-and-resume test interrupts (shared by the test and its child process). */
import type { TrainOptions } from '../../src/train/types.ts';

/** 20 items, batches of 6, Dassl's drop-last → 3 steps per epoch; 5 epochs of CoOp's optimiser and schedule. */
export const KILL_TEST_OPTIONS = Object.freeze({
  optimizer: { kind: 'sgd', lr: 0.5, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false },
  schedule: { kind: 'dassl-cosine', maxEpochs: 5, warmupEpochs: 1, warmupLr: 0.01 },
  epochs: 5,
  batchSize: 6,
  dropLast: 'dassl',
  seed: 3,
} as const satisfies Omit<TrainOptions, 'problem'>);
