/**
 * MLflow's system tags for a run (mlflow/utils/mlflow_tags.py): what the UI shows as Source,
 * Version, User and run name. The git commit is read once per process.
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { relative } from 'node:path';

/** Tag keys MLflow reserves and the UI reads. */
export const TAG = Object.freeze({
  runName: 'mlflow.runName',
  parentRunId: 'mlflow.parentRunId',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  user: 'mlflow.user',
  note: 'mlflow.note.content',
  dataContext: 'mlflow.data.context',
  /** iwpl's version. */
  iwplVersion: 'iwpl.version',
  /** Unique per run, so a create whose answer was lost can be found instead of repeated. */
  clientRunId: 'iwpl.client_run_id',
  /** The offline store's id of a synced run (sync searches it before creating). */
  offlineRunId: 'iwpl.offline_run_id',
});

let gitCommitCache: string | null | undefined;

/** HEAD's commit of the git checkout around `cwd`, or undefined outside git. */
export function gitCommit(cwd = process.cwd()): string | undefined {
  if (gitCommitCache === undefined) {
    try {
      gitCommitCache = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
        .toString().trim() || null;
    } catch {
      gitCommitCache = null;
    }
  }
  return gitCommitCache ?? undefined;
}

/** The user name MLflow would record (USER, else the OS account). */
export function currentUser(): string {
  try {
    return process.env.USER || process.env.LOGNAME || userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Overrides for {@link systemTags}. */
export interface SystemTagOptions {
  /** Source name, e.g. a notebook path. @default the main script, relative to cwd */
  readonly sourceName?: string;
  /** NOTEBOOK | JOB | PROJECT | LOCAL | UNKNOWN. @default "LOCAL" (Python sets NOTEBOOK for Databricks only) */
  readonly sourceType?: string;
  /** @default currentUser() */
  readonly user?: string;
  /** @default gitCommit() */
  readonly gitCommit?: string;
  /** @default package version from npm, else "0.1.0" */
  readonly iwplVersion?: string;
}

/** The system tags of a new run (without run name and parent, which come with the run). */
export function systemTags(o: SystemTagOptions = {}): Record<string, string> {
  const script = process.argv[1];
  const tags: Record<string, string> = {
    [TAG.sourceName]: o.sourceName ?? (script ? relative(process.cwd(), script) || script : 'iwpl'),
    [TAG.sourceType]: o.sourceType ?? 'LOCAL',
    [TAG.user]: o.user ?? currentUser(),
    [TAG.iwplVersion]: o.iwplVersion ?? process.env.npm_package_version ?? '0.1.0',
  };
  const commit = o.gitCommit ?? gitCommit();
  if (commit) tags[TAG.gitCommit] = commit;
  return tags;
}
