/** Errors of the tracking layer: every failure names the MLflow error code and HTTP status. */
import { UserError } from '../util/errors.ts';

/** Error codes the client itself uses for failures that never got an MLflow answer. */
export type TransportErrorCode = 'NETWORK_ERROR' | 'TIMEOUT';

/** The error code MLflow would use for an HTTP status, for answers whose body is not JSON. */
const CODE_FOR_STATUS: Readonly<Record<number, string>> = Object.freeze({
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'RESOURCE_CONFLICT',
  413: 'REQUEST_TOO_LARGE',
  429: 'REQUEST_LIMIT_EXCEEDED',
  500: 'INTERNAL_ERROR',
  501: 'NOT_IMPLEMENTED',
  502: 'BAD_GATEWAY',
  503: 'TEMPORARILY_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
});

/**
 * A failed MLflow request. `errorCode` is the server's `error_code` (e.g. INVALID_PARAMETER_VALUE),
 * or one derived from the HTTP status when the body was not JSON, or NETWORK_ERROR / TIMEOUT when
 * no answer came; `status` is the HTTP status (undefined without an answer).
 */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  constructor(
    message: string,
    /** MLflow error code. */
    readonly errorCode: string,
    /** HTTP status, if the server answered. */
    readonly status: number | undefined,
    /** "POST runs/log-batch" etc. */
    readonly endpoint: string,
    /** How many attempts were made (1 = no retry). */
    readonly attempts = 1,
    /**
     * The request went out on a reused keep-alive connection that the server had already closed
     * (reset or hang-up before any answer). A server that closed fully (uvicorn) never read it;
     * the client resends re-sendable requests at once on a new connection (Node's documented
     * `req.reusedSocket` case; urllib3 checks for a dropped pooled connection before reuse), and
     * a create still searches before creating again.
     */
    readonly staleConnection = false,
  ) {
    super(message);
  }

  /** Whether no answer came (connection refused/reset, timeout). */
  get isTransport(): boolean {
    return this.status === undefined;
  }
}

/** A value rejected by client-side validation before anything was sent (bad key, too long, ...). */
export class TrackingValidationError extends UserError {
  /** Same code the server would answer with. */
  readonly errorCode = 'INVALID_PARAMETER_VALUE';
}

/**
 * Builds the error for an HTTP answer. `body` is the raw text: MLflow's JSON `{error_code, message}`
 * when the tracking handlers answered, otherwise HTML/plain text (unknown route, disabled artifact
 * proxy, auth or Host rejection), of which a short excerpt goes into the message.
 */
export function errorFromResponse(endpoint: string, status: number, body: string, attempts = 1): MlflowError {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error_code?: unknown; message?: unknown; detail?: unknown };
    if (parsed && typeof parsed === 'object') {
      if (typeof parsed.error_code === 'string') code = parsed.error_code;
      if (typeof parsed.message === 'string') message = parsed.message;
      else if (typeof parsed.detail === 'string') message = parsed.detail;
    }
  } catch {
    // not JSON: fall through to the status-derived code
  }
  code ??= CODE_FOR_STATUS[status] ?? `HTTP_${status}`;
  if (message === undefined) {
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    message = text.length > 300 ? `${text.slice(0, 300)}…` : text || '(empty body)';
  }
  return new MlflowError(`MLflow ${endpoint} failed: HTTP ${status} ${code}: ${message}`, code, status, endpoint, attempts);
}
