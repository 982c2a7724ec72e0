import { MediabotError, type MediabotErrorCode } from '../errors.js';

export interface GraphErrorFields {
  /** HTTP status of the last attempt; undefined when no response arrived (network error). */
  status?: number | undefined;
  /** `error.code` from Graph's OData error body, when there was one. */
  graphCode?: string | undefined;
  /** `request-id` response header of the last attempt. */
  requestId?: string | undefined;
  /** `client-request-id` we sent on the last attempt. */
  clientRequestId?: string | undefined;
  /** True when the failure is transient (throttling, unavailability, network): retrying later may work. */
  retryable?: boolean;
  /** How many attempts were made before giving up. */
  attempts?: number;
  method?: string;
  url?: string;
  /** What to configure or change, for failures with a known setup cause (see hints.ts). */
  hint?: string | undefined;
}

/** Every failure of an outbound Graph request. `code` is one of the MEDIABOT_GRAPH_* codes. */
export class GraphError extends MediabotError {
  readonly status: number | undefined;
  readonly graphCode: string | undefined;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;
  readonly retryable: boolean;
  readonly attempts: number;
  readonly hint: string | undefined;

  constructor(code: MediabotErrorCode, message: string, fields: GraphErrorFields = {}) {
    super(code, message, {
      status: fields.status,
      graphCode: fields.graphCode,
      requestId: fields.requestId,
      clientRequestId: fields.clientRequestId,
      retryable: fields.retryable ?? false,
      attempts: fields.attempts ?? 1,
      method: fields.method,
      url: fields.url,
      ...(fields.hint !== undefined ? { hint: fields.hint } : {}),
    });
    this.name = 'GraphError';
    this.status = fields.status;
    this.graphCode = fields.graphCode;
    this.requestId = fields.requestId;
    this.clientRequestId = fields.clientRequestId;
    this.retryable = fields.retryable ?? false;
    this.attempts = fields.attempts ?? 1;
    this.hint = fields.hint;
  }
}

export function isGraphError(err: unknown): err is GraphError {
  return err instanceof GraphError;
}

/** Raised synchronously-ish (as a rejected promise) when an operation gets an unusable argument; nothing is sent. */
export function invalidArgument(message: string): GraphError {
  return new GraphError('MEDIABOT_GRAPH_INVALID_ARGUMENT', message, { retryable: false, attempts: 0 });
}

/** Validates a path segment (call id, participant id, ...) and URL-encodes it. */
export function segment(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw invalidArgument(`${name} must be a non-empty string of at most 512 characters`);
  }
  return encodeURIComponent(value);
}
