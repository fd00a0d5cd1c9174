/** `iwpl data` (placeholder until its issue lands). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl data` to the program. */
export function registerData(program: Command): void {
  program.command('data').description('(not implemented yet)').action(() => {
    throw new UserError('data: not implemented yet');
  });
}
