/**
 * The `iwpl` command line: a thin layer that turns flags into calls of the library. Every failure
 * is one line on stderr (`iwpl: ...`) and a non-zero exit; `IWPL_DEBUG=1` adds the stack trace.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { UserError } from '../util/errors.ts';
import { describeErrno } from '../util/output.ts';
import { MlflowError } from '../tracking/errors.ts';

/** Builds the program with every registered command (exported for tests and `--help` checks). */
export function buildProgram(): Command {
  const program = new Command('iwpl')
    .description('Few-shot adaptation of CLIP (zero-shot, linear probe, CoOp, LFA, instance-wise prompts) with MLflow tracking')
    .version(process.env.npm_package_version ?? '0.1.0')
    // usage errors are printed by main(), in one line; help and version still go to stdout
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  for (const register of Object.values(COMMANDS)) register(program);
  return program;
}

/** Commander's own "unknown option" message (with its "Did you mean" hint), in one line. */
function unknownOptionLine(cmd: Command, flag: string): string {
  try {
    // not in Commander's typings, but the method that makes its message; the fallback keeps the flag
    (cmd as unknown as { unknownOption(flag: string): void }).unknownOption(flag);
  } catch (err) {
    if (err instanceof CommanderError) return commanderLine(err);
  }
  return `unknown option '${flag.split('=')[0]}'`;
}

/** The subcommand chain that `args` (without node and script) names, e.g. ["tracking", "sync"], and the leaf's unknown options. */
function preParse(args: readonly string[]): { path: string[]; unknown: string | undefined } {
  // a separate program: parseOptions stores values, and repeatable options would collect twice
  const path: string[] = [];
  let cmd = buildProgram();
  let rest = [...args];
  try {
    for (;;) {
      const { operands, unknown } = cmd.parseOptions(rest);
      const sub = cmd.commands.find((c) => c.name() === operands[0] || c.aliases().includes(operands[0] ?? ''));
      if (sub === undefined) {
        const cut = unknown.indexOf('--'); // after "--" everything is an operand
        const flag = (cut < 0 ? unknown : unknown.slice(0, cut)).find((a) => a.startsWith('-') && a !== '-');
        return { path, unknown: flag === undefined ? undefined : unknownOptionLine(cmd, flag) };
      }
      path.push(sub.name());
      cmd = sub;
      rest = [...operands.slice(1), ...unknown];
    }
  } catch {
    return { path, unknown: undefined }; // the real parse reports it
  }
}

let stdoutGuarded = false;

/** A reader that stops early (`iwpl assets list | head -1`) is not an error (once per process). */
function ignoreClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err; });
}

/** A Commander message ("error: unknown option '--x'\n(Did you mean --y?)") in one line, without "error: ". */
function commanderLine(err: CommanderError): string {
  return err.message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim();
}

/** One line for an error that is not a UserError: errno failures as a user error, anything else as a bug. */
function unexpectedLine(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.path === 'string') {
    return `${e.path}: ${describeErrno(e)}`;
  }
  const message = (e?.message ?? String(err)).replace(/\s*\n\s*/g, ' ').trim();
  return `internal error: ${message} (IWPL_DEBUG=1 prints the stack trace)`;
}

/**
 * Runs the CLI and returns the process exit code: 0 on success, 1 on a failure (one line naming
 * the input at fault), 2 on a usage error (unknown option or command, missing option). Unknown
 * options are reported before anything else, so `embed --bogus` names --bogus, not a missing option.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const debug = process.env.IWPL_DEBUG === '1';
  const args = argv.slice(2);
  ignoreClosedStdout();
  const { path, unknown } = args.some((a) => a === '--help' || a === '-h') ? { path: [], unknown: undefined } : preParse(args);
  const where = `iwpl${path.map((p) => ` ${p}`).join('')}`;
  if (unknown !== undefined) {
    process.stderr.write(`${where}: ${unknown} (see ${where} --help)\n`);
    return 2;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (err) {
    if (debug && !(err instanceof CommanderError)) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return err.exitCode;
      process.stderr.write(`${where}: ${commanderLine(err)} (see ${where} --help)\n`);
      return 2;
    }
    if (err instanceof MlflowError) {
      // the server's answer or the lack of one: the user's setup, not a bug
      const hint = err.status === 401 || err.status === 403
        ? ' (credentials: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)' : '';
      process.stderr.write(`iwpl: ${err.message.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
      return 1;
    }
    if (err instanceof UserError) {
      process.stderr.write(`iwpl: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 1;
    }
    process.stderr.write(`iwpl: ${unexpectedLine(err)}\n`);
    return 1;
  }
}
