/** The `iwpl` command line: a thin layer that turns flags into calls of the library. */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { UserError } from '../util/errors.ts';

/** Builds the program with every registered command (exported for tests and `--help` checks). */
export function buildProgram(): Command {
  const program = new Command('iwpl')
    .description('Few-shot adaptation of CLIP (zero-shot, linear probe, CoOp, LFA, instance-wise prompts) with MLflow tracking')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of Object.values(COMMANDS)) register(program);
  return program;
}

/**
 * Runs the CLI and returns the process exit code: 0 on success, 1 on a user error (message only),
 * 2 on a usage error, 1 with a stack trace on anything unexpected.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UserError) {
      process.stderr.write(`iwpl: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`iwpl: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
