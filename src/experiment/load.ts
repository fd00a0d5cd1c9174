/**
 * Loading an experiment: read the JSON file, apply `--set key=value` overrides by dotted path, then
 * validate the whole result (schema.ts) and resolve paths. Layering: schema defaults → file →
 * `--set`, frozen. Every problem is a one-line UserError naming the file, the path and, for an
 * override, the `--set` that caused it.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.ts';
import { formatPath, validateExperiment, type ConfigIssue, type ExperimentConfig } from './schema.ts';

/** One parsed `--set`: the dotted path and the value (JSON when it parses as JSON, else the string). */
export interface Override {
  readonly path: readonly string[];
  readonly value: unknown;
  /** As typed, for messages. */
  readonly text: string;
}

/** A loaded experiment: the validated config with absolute paths, and where it came from. */
export interface LoadedExperiment {
  /** The experiment file (absolute). */
  readonly file: string;
  /** The config: `model`, `dataRoot`, `vocab`, `cacheDir` are absolute; `cacheDir` and `experimentName` are filled. */
  readonly config: ExperimentConfig & { readonly cacheDir: string; readonly experimentName: string };
  /** The overrides applied, as typed. */
  readonly overrides: readonly string[];
}

/**
 * Parses `key=value`: the key is a dotted path (`methods.0.testTopK`, `shots.0`), the value is
 * JSON when it parses as JSON (`2`, `[1,2]`, `true`, `"4"`), else the raw string (`weights/RN50.pt`).
 * @example parseOverride('seeds=[1,2]') // { path: ['seeds'], value: [1, 2] }
 */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${text}: expected key=value (e.g. --set methods.0.testTopK=2)`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => p === '')) throw new UserError(`--set ${text}: "${key}" is not a dotted path`);
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: the string itself
  }
  return { path, value, text };
}

const describe = (v: unknown): string => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : typeof v);

/**
 * Sets `o.path` in `root` (a parsed experiment file), in place. The parent must exist: an object
 * (its key is set, unknown keys are caught by validation) or a list (the index must exist).
 */
export function applyOverride(root: unknown, o: Override): void {
  const key = o.path.join('.');
  let parent: unknown = root;
  for (let i = 0; i < o.path.length - 1; i++) {
    const next = child(parent, o.path[i], o, i);
    if (next === undefined || next === null || typeof next !== 'object') {
      const at = o.path.slice(0, i + 1).join('.');
      throw new UserError(`--set ${key}: ${at} ${next === undefined ? 'does not exist' : `is ${describe(next)}, not an object or a list`}`);
    }
    parent = next;
  }
  const last = o.path[o.path.length - 1];
  if (Array.isArray(parent)) {
    parent[listIndex(parent, last, o, o.path.length - 1)] = o.value;
  } else if (parent !== null && typeof parent === 'object') {
    (parent as Record<string, unknown>)[last] = o.value;
  } else {
    throw new UserError(`--set ${key}: the experiment file's top level is not an object`);
  }
}

function listIndex(list: unknown[], segment: string, o: Override, depth: number): number {
  const at = o.path.slice(0, depth).join('.');
  if (!/^(0|[1-9]\d*)$/.test(segment)) throw new UserError(`--set ${o.path.join('.')}: ${at} is a list; "${segment}" is not an index`);
  const i = Number(segment);
  if (i >= list.length) throw new UserError(`--set ${o.path.join('.')}: index ${i} is out of range (${at} has ${list.length} item${list.length === 1 ? '' : 's'})`);
  return i;
}

function child(parent: unknown, segment: string, o: Override, depth: number): unknown {
  if (Array.isArray(parent)) return parent[listIndex(parent, segment, o, depth)];
  if (parent !== null && typeof parent === 'object') return Object.hasOwn(parent, segment) ? (parent as Record<string, unknown>)[segment] : undefined;
  return undefined;
}

/** One line for the first issue: blames the `--set` that wrote its path, else the file. */
function issueLine(file: string, issues: readonly ConfigIssue[], overrides: readonly Override[]): string {
  const first = issues[0];
  const path = formatPath(first.path);
  const culprit = [...overrides].reverse().find((o) => {
    const k = o.path.join('.');
    return path === k || path.startsWith(`${k}.`);
  });
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return culprit ? `--set ${culprit.text}: ${path}: ${first.message}${more}` : `${file}: ${path}: ${first.message}${more}`;
}

/** The feature cache used when the file sets none: shared with `iwpl features`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.IWPL_CACHE ?? join(homedir(), '.cache', 'iwpl'), 'features');
}

/**
 * Validates an experiment given as a value (the file's parsed JSON) with overrides applied.
 * `file` names the source in messages and anchors relative paths (values from `--set` are relative
 * to the current directory instead, as command-line paths are).
 */
export function loadExperimentValue(file: string, raw: unknown, sets: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): LoadedExperiment {
  const abs = resolve(file);
  const value = structuredClone(raw);
  const overrides = sets.map(parseOverride);
  for (const o of overrides) applyOverride(value, o);
  const result = validateExperiment(value);
  if (!result.ok) throw new UserError(issueLine(abs, result.issues, overrides));
  const c = result.config;
  const fromSet = (key: string): boolean => overrides.some((o) => o.path.length === 1 && o.path[0] === key);
  const path = (key: string, p: string): string => resolve(fromSet(key) ? process.cwd() : dirname(abs), p);
  const config = Object.freeze({
    ...c,
    model: path('model', c.model),
    dataRoot: path('dataRoot', c.dataRoot),
    ...(c.vocab !== undefined ? { vocab: path('vocab', c.vocab) } : {}),
    cacheDir: c.cacheDir !== undefined ? path('cacheDir', c.cacheDir) : defaultCacheDir(env),
    experimentName: c.experimentName ?? `iwpl/${basename(abs, extname(abs))}`,
  });
  return Object.freeze({ file: abs, config, overrides: Object.freeze([...sets]) });
}

/**
 * Reads, overrides and validates an experiment file.
 * @example const exp = await loadExperiment('experiments/smoke.json', ['seeds=[1,2]']);
 * @throws UserError (one line) for an unreadable file, bad JSON, a bad override or an invalid config.
 */
export async function loadExperiment(file: string, sets: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<LoadedExperiment> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `experiment file not found: ${abs}` : `cannot read the experiment file ${abs}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${abs}: not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return loadExperimentValue(abs, raw, sets, env);
}
