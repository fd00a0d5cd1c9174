/** `iwpl tracking` (placeholder until its issue lands). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl tracking` to the program. */
export function registerTracking(program: Command): void {
  program.command('tracking').description('(not implemented yet)').action(() => {
    throw new UserError('tracking: not implemented yet');
  });
}
