/** `iwpl assets` (placeholder until its issue lands). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl assets` to the program. */
export function registerAssets(program: Command): void {
  program.command('assets').description('(not implemented yet)').action(() => {
    throw new UserError('assets: not implemented yet');
  });
}
