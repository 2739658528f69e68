import { AppError, type ErrorKind } from '../../../errors/app-error.js';

/** The `scimType` values of RFC 7644 §3.12 (Table 9). */
export type ScimErrorType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

const KIND: Record<ScimErrorType, ErrorKind> = {
  invalidFilter: 'BAD_USER_INPUT',
  tooMany: 'BAD_USER_INPUT',
  uniqueness: 'CONFLICT',
  mutability: 'BAD_USER_INPUT',
  invalidSyntax: 'BAD_USER_INPUT',
  invalidPath: 'BAD_USER_INPUT',
  noTarget: 'BAD_USER_INPUT',
  invalidValue: 'BAD_USER_INPUT',
  invalidVers: 'BAD_USER_INPUT',
  sensitive: 'FORBIDDEN',
};

/**
 * A SCIM request Gatehouse refuses: the code is `scim.<scimType>`, the SCIM transport answers
 * with the RFC 7644 §3.12 error (status, `scimType`, `detail`).
 */
export function scimError(scimType: ScimErrorType, detail: string, kind: ErrorKind = KIND[scimType]): AppError {
  return new AppError(kind, `scim.${scimType}`, detail, { detail: { scimType } });
}

/** The `scimType` of an error made by `scimError`, or null. */
export function scimTypeOf(error: unknown): ScimErrorType | null {
  if (!(error instanceof AppError) || !error.code.startsWith('scim.')) return null;
  const scimType = (error.detail as { scimType?: unknown } | undefined)?.scimType;
  return typeof scimType === 'string' && scimType in KIND ? (scimType as ScimErrorType) : null;
}

/** A SCIM resource or endpoint that does not exist: 404 without a `scimType` (RFC 7644 §3.12). */
export function scimNotFound(detail: string): AppError {
  return new AppError('NOT_FOUND', 'scim.not_found', detail);
}

/** An `If-Match` version that is not the resource's (RFC 7644 §3.14): 412, nothing changed. */
export function scimPreconditionFailed(current: string): AppError {
  return new AppError('PRECONDITION_FAILED', 'scim.precondition_failed', `The resource has changed: its version is ${current}`);
}

/**
 * Whether an `If-Match` / `If-None-Match` header names `version` (`W/"3"`): `*`, or one of its
 * comma-separated entity tags, weak or strong (SCIM versions are weak: compared weakly).
 */
export function etagMatches(header: string, version: string): boolean {
  const tag = (value: string) => value.trim().replace(/^W\//, '');
  return header.split(',').some((entry) => entry.trim() === '*' || tag(entry) === tag(version));
}
