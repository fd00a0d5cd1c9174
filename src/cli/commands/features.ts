/** `iwpl features` (placeholder until its issue lands). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl features` to the program. */
export function registerFeatures(program: Command): void {
  program.command('features').description('(not implemented yet)').action(() => {
    throw new UserError('features: not implemented yet');
  });
}
