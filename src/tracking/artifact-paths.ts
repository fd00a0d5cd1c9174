/**
 * Artifact locations behind MLflow's artifact proxy. A run created on a server that serves
 * artifacts has `artifact_uri` = `mlflow-artifacts:/<exp>/<run>/artifacts` (or with a
 * `//host:port` authority); its files live at `/api/2.0/mlflow-artifacts/artifacts/<that path>/…`.
 */
import { UserError } from '../util/errors.ts';

/** Route of the artifact proxy (mlflow/server/handlers.py). */
export const PROXY_ROUTE = '/api/2.0/mlflow-artifacts/artifacts';

/**
 * The run's artifact root relative to the proxy route, e.g. "1/4f…/artifacts".
 * @throws UserError when the run's artifacts are not served through the proxy.
 */
export function proxyRootOf(artifactUri: string | undefined, runId: string): string {
  const uri = artifactUri ?? '';
  let rest: string | undefined;
  if (uri.startsWith('mlflow-artifacts:')) {
    rest = uri.slice('mlflow-artifacts:'.length);
    if (rest.startsWith('//')) rest = rest.slice(2).replace(/^[^/]*/, ''); // drop host:port
  } else if (/^https?:\/\//.test(uri) && uri.includes(PROXY_ROUTE)) {
    rest = uri.slice(uri.indexOf(PROXY_ROUTE) + PROXY_ROUTE.length);
  }
  if (rest === undefined) {
    throw new UserError(
      `run ${runId} stores its artifacts at "${uri}", which the server does not proxy; iwpl uploads through the artifact proxy, ` +
      `so start the server with --serve-artifacts (the default) and no --default-artifact-root outside it`,
    );
  }
  return rest.replace(/^\/+|\/+$/g, '');
}

/** Throws unless `rel` is a clean relative artifact path ("a/b.json"; no "..", no leading "/"). */
export function checkArtifactPath(rel: string): void {
  const parts = rel.split('/');
  if (rel === '' || rel.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new UserError(`artifact path ${JSON.stringify(rel)} must be relative and "/"-separated, without ".", ".." or empty parts`);
  }
}

/** URL path of a file (or folder) under the run's proxy root, each segment percent-encoded. */
export function proxyUrlPath(root: string, rel: string): string {
  const all = rel === '' ? root : `${root}/${rel}`;
  return `${PROXY_ROUTE}/${all.split('/').map(encodeURIComponent).join('/')}`;
}

const MIME: Readonly<Record<string, string>> = Object.freeze({
  json: 'application/json',
  csv: 'text/csv',
  txt: 'text/plain',
  md: 'text/markdown',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  html: 'text/html',
  yaml: 'application/x-yaml',
  yml: 'application/x-yaml',
});

/** The Content-Type sent with an upload (the Python client also sends a guessed type). */
export function contentTypeFor(path: string): string {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return MIME[ext] ?? 'application/octet-stream';
}
