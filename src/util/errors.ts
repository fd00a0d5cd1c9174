/**
 * An error caused by the user's input (a file, a key, a value). The CLI prints its message alone,
 * without a stack trace, and exits 1; everything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}
