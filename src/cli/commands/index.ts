/** The explicit command registry: name → function that adds the command to the program. */
import type { Command } from 'commander';
import { registerEmbed } from './embed.ts';
import { registerAssets } from './assets.ts';
import { registerData } from './data.ts';
import { registerFeatures } from './features.ts';
import { registerRun } from './run.ts';
import { registerSweep } from './sweep.ts';
import { registerReport } from './report.ts';
import { registerTracking } from './tracking.ts';
import { registerBackend } from './backend.ts';
import { registerUi } from './ui.ts';

/** Adds one (sub)command tree to the program. */
export type RegisterCommand = (program: Command) => void;

/** Every top-level command, in `--help` order. */
export const COMMANDS: Readonly<Record<string, RegisterCommand>> = Object.freeze({
  embed: registerEmbed,
  assets: registerAssets,
  data: registerData,
  features: registerFeatures,
  run: registerRun,
  sweep: registerSweep,
  report: registerReport,
  tracking: registerTracking,
  backend: registerBackend,
  ui: registerUi,
});
