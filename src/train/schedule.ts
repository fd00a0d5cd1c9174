/**
 * Learning rates of the schedules in {@link ScheduleConfig}, as closed forms of what torch's
 * schedulers produce when stepped the way CoOp (per epoch) and LFA (per iteration) step them.
 */
import { UserError } from '../util/errors.ts';
import type { ScheduleConfig } from './types.ts';

/** Whether the schedule advances once per epoch or once per optimisation step. */
export function scheduleUnit(schedule: ScheduleConfig): 'epoch' | 'step' | 'none' {
  return schedule.kind === 'dassl-cosine' ? 'epoch' : schedule.kind === 'cosine' ? 'step' : 'none';
}

/**
 * Checks a schedule's numbers (positive lengths, finite rates).
 * @throws UserError naming the key at fault.
 */
export function validateSchedule(schedule: ScheduleConfig): void {
  const bad = (key: string, value: unknown, rule: string): never => {
    throw new UserError(`schedule ${schedule.kind}: ${key} = ${String(value)} is invalid (${rule})`);
  };
  switch (schedule.kind) {
    case 'dassl-cosine':
      if (!(Number.isInteger(schedule.maxEpochs) && schedule.maxEpochs > 0)) bad('maxEpochs', schedule.maxEpochs, 'an integer > 0');
      if (!(Number.isInteger(schedule.warmupEpochs) && schedule.warmupEpochs >= 0)) bad('warmupEpochs', schedule.warmupEpochs, 'an integer ≥ 0');
      if (!(Number.isFinite(schedule.warmupLr) && schedule.warmupLr >= 0)) bad('warmupLr', schedule.warmupLr, 'a finite number ≥ 0');
      return;
    case 'cosine':
      if (!(Number.isInteger(schedule.totalSteps) && schedule.totalSteps > 0)) bad('totalSteps', schedule.totalSteps, 'an integer > 0');
      if (!(Number.isFinite(schedule.etaMin) && schedule.etaMin >= 0)) bad('etaMin', schedule.etaMin, 'a finite number ≥ 0');
      return;
    case 'constant':
      return;
    default:
      throw new UserError(`unknown schedule kind '${(schedule as { kind: string }).kind}' (use dassl-cosine, cosine or constant)`);
  }
}

/**
 * The learning rate used for the optimisation step `step` (0-based, global) of epoch `epoch`
 * (0-based), given the optimiser's base rate.
 *
 * - `dassl-cosine` (Dassl's ConstantWarmupScheduler around CosineAnnealingLR(T_max = maxEpochs,
 *   eta_min = 0), WARMUP_RECOUNT = True, stepped after each epoch; coop-spec §2): `warmupLr` for
 *   epoch < warmupEpochs, else ½·baseLr·(1 + cos(π·(epoch − warmupEpochs)/maxEpochs)). The cosine
 *   restarts its count after the warm-up, so the last epoch's rate is not zero.
 * - `cosine` (CosineAnnealingLR(T_max = totalSteps, eta_min), stepped after each optimisation step,
 *   as LFA): etaMin + ½·(baseLr − etaMin)·(1 + cos(π·step/totalSteps)).
 * - `constant`: baseLr.
 *
 * @example learningRate({ kind: 'dassl-cosine', maxEpochs: 50, warmupEpochs: 1, warmupLr: 1e-5 }, 0.002, 1, 0) // 0.002
 */
export function learningRate(schedule: ScheduleConfig, baseLr: number, epoch: number, step: number): number {
  switch (schedule.kind) {
    case 'dassl-cosine': {
      if (epoch < schedule.warmupEpochs) return schedule.warmupLr;
      return 0.5 * baseLr * (1 + Math.cos((Math.PI * (epoch - schedule.warmupEpochs)) / schedule.maxEpochs));
    }
    case 'cosine':
      return schedule.etaMin + 0.5 * (baseLr - schedule.etaMin) * (1 + Math.cos((Math.PI * step) / schedule.totalSteps));
    case 'constant':
      return baseLr;
    default:
      throw new UserError(`unknown schedule kind '${(schedule as { kind: string }).kind}'`);
  }
}
