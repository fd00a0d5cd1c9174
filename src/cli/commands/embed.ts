/** `iwpl embed` (placeholder until its issue lands). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl embed` to the program. */
export function registerEmbed(program: Command): void {
  program.command('embed').description('(not implemented yet)').action(() => {
    throw new UserError('embed: not implemented yet');
  });
}
