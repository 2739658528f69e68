/**
 * The one error base of the domain. `code` is stable and machine-readable
 * (`organization.external_id_taken`); `kind` tells each transport how to present it;
 * `expose: false` errors reach clients only as a generic internal error with a request id,
 * their `detail` goes to the log.
 */
export type ErrorKind =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  /** A condition the request set (a SCIM `If-Match` version) does not hold. */
  | 'PRECONDITION_FAILED'
  /** A request larger than a limit (a SCIM Bulk request of too many operations). */
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INTERNAL';

const STATUS: Record<ErrorKind, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

/** The public code of each kind, shared by the transports that speak GraphQL's vocabulary (GraphQL, audit export). */
export const PUBLIC_CODE: Record<ErrorKind, string> = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

export interface AppErrorOptions {
  /** Input path of the offending value, e.g. `['input', 'externalId']`. */
  field?: string[];
  expose?: boolean;
  detail?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly field: string[] | undefined;
  readonly expose: boolean;
  readonly detail: unknown;

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.field = options.field;
    this.expose = options.expose ?? kind !== 'INTERNAL';
    this.detail = options.detail;
  }

  get status(): number {
    return STATUS[this.kind];
  }

  /**
   * Validation and conflict errors are expected outcomes of a mutation: GraphQL returns them
   * as `userErrors` in the payload instead of as request errors.
   */
  get isUserError(): boolean {
    return this.kind === 'BAD_USER_INPUT' || this.kind === 'CONFLICT';
  }
}

export const unauthenticated = (code: string, message: string) =>
  new AppError('UNAUTHENTICATED', code, message);
export const forbidden = (code: string, message: string) => new AppError('FORBIDDEN', code, message);
export const notFound = (resource: string, id?: string) =>
  new AppError(
    'NOT_FOUND',
    `${resource}.not_found`,
    id ? `No ${resource.replace(/_/g, ' ')} with id "${id}"` : `${resource.replace(/_/g, ' ')} not found`,
  );
export const invalid = (code: string, message: string, field?: string[]) =>
  new AppError('BAD_USER_INPUT', code, message, { field });
export const conflict = (code: string, message: string, field?: string[]) =>
  new AppError('CONFLICT', code, message, { field });
