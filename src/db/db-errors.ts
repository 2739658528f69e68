import { DriverException, UniqueConstraintViolationException, ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { AppError, conflict } from '../errors/app-error.js';

/**
 * The one place where database constraint violations become domain errors. Keyed by the
 * constraint names the migrations create.
 */
const UNIQUE_VIOLATIONS: Record<string, () => AppError> = {
  workspace_slug_unique: () => conflict('workspace.slug_taken', 'A workspace with this slug already exists', ['input', 'slug']),
  environment_workspace_id_slug_unique: () =>
    conflict('environment.slug_taken', 'An environment with this slug already exists in the workspace', ['input', 'slug']),
  organization_environment_id_external_id_unique: () =>
    conflict('organization.external_id_taken', 'Another organization of this environment has this external id', ['input', 'externalId']),
  organization_domain_environment_id_domain_unique: () =>
    conflict('organization.domain_taken', 'This domain already belongs to an organization of this environment', ['input', 'domain']),
  app_user_environment_id_email_unique: () =>
    conflict('user.email_taken', 'A user with this email already exists in this environment', ['input', 'email']),
  app_user_environment_id_external_id_unique: () =>
    conflict('user.external_id_taken', 'Another user of this environment has this external id', ['input', 'externalId']),
  membership_organization_id_user_id_unique: () =>
    conflict('membership.already_exists', 'The user is already a member of this organization', ['input', 'userId']),
  role_environment_id_key_unique: () => conflict('role.key_taken', 'A role with this key already exists', ['input', 'key']),
  permission_environment_id_key_unique: () =>
    conflict('permission.key_taken', 'A permission with this key already exists', ['input', 'key']),
  custom_attribute_definition_environment_id_key_unique: () =>
    conflict('custom_attribute.key_taken', 'A custom attribute with this key already exists', ['input', 'key']),
  resource_server_environment_id_identifier_unique: () =>
    conflict('resource_server.identifier_taken', 'A resource server of this environment already has this identifier', ['input', 'identifier']),
  trusted_issuer_environment_id_issuer_unique: () =>
    conflict('trusted_issuer.issuer_taken', 'This environment already trusts an issuer with this `iss`', ['input', 'issuer']),
};

/** Whether the error is a unique constraint violation (a concurrent insert of the same key won). */
export const isUniqueViolation = (error: unknown): boolean => error instanceof UniqueConstraintViolationException;

/** The name of the unique constraint a unique violation hit, or null (not one, or unnamed). */
export function violatedUniqueConstraint(error: unknown): string | null {
  return error instanceof UniqueConstraintViolationException ? (constraintName(error) ?? null) : null;
}

/** Turns known constraint violations into domain errors; anything else passes through. */
export function mapDbError(error: unknown): unknown {
  if (error instanceof UniqueConstraintViolationException) {
    const make = UNIQUE_VIOLATIONS[constraintName(error) ?? ''];
    return make ? make() : conflict('conflict', 'This value conflicts with an existing record');
  }
  if (error instanceof ForeignKeyConstraintViolationException) {
    return conflict('conflict.reference', 'A referenced record no longer exists');
  }
  return error;
}

/** What the log may keep of a database error: its class and SQLSTATE, and the names of what it hit. */
export interface DatabaseErrorSummary {
  type: string;
  message: string;
  code: string | undefined;
  constraint: string | undefined;
  table: string | undefined;
  column: string | undefined;
  stack: string;
}

/** A SQLSTATE: five digits or upper-case letters (PostgreSQL appendix A). */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A field the driver copies from PostgreSQL's error report (`code`, `table`, `constraint`, …). */
function reported(error: Error, name: string): string | undefined {
  const value = (error as unknown as Record<string, unknown>)[name];
  return typeof value === 'string' && value ? value : undefined;
}

/**
 * An error of the database or its driver: MikroORM's DriverException, or the error of `pg` or
 * PGlite itself (raw queries, LISTEN connections), which carries a SQLSTATE and a severity.
 */
export function isDatabaseError(error: unknown): error is Error {
  if (error instanceof DriverException) return true;
  if (!(error instanceof Error)) return false;
  const code = reported(error, 'code');
  return code !== undefined && SQLSTATE.test(code) && reported(error, 'severity') !== undefined;
}

/**
 * A database error as the log may show it. Never its message, detail or stack head: the driver
 * puts the statement with its bound values there (`insert … values ('jane@acme.com', …)`, a
 * token's hash), and PostgreSQL's detail quotes the conflicting key. The frames of the stack
 * stay, so the log still tells where it happened.
 */
export function describeDatabaseError(error: Error): DatabaseErrorSummary {
  const code = reported(error, 'code') ?? reported(error, 'sqlState');
  const table = reported(error, 'table');
  const constraint = constraintName(error);
  // The drivers' own classes are minified (PGlite) or generic (pg); MikroORM's name the kind.
  const type = error instanceof DriverException ? error.constructor.name : 'DatabaseError';
  const message = `database error${code ? ` ${code}` : ''}${table ? ` on "${table}"` : ''}${constraint ? ` (constraint "${constraint}")` : ''}`;
  const frames = error.stack?.split('\n').filter((line) => line.trim().startsWith('at ')) ?? [];
  return { type, message, code, constraint, table, column: reported(error, 'column'), stack: [`${type}: ${message}`, ...frames].join('\n') };
}

/**
 * The constraint an error names: the driver's field, else the end of PostgreSQL's message
 * ("… violates unique constraint "x""). Only the end: the statement before it holds values.
 */
function constraintName(error: Error): string | undefined {
  return reported(error, 'constraint') ?? /violates [a-z ]*constraint "([^"]+)"$/.exec(error.message)?.[1];
}

/**
 * Runs `work` (a whole transaction) once more when it failed on a unique constraint: a
 * concurrent transaction created the row this one was about to create (two first sign-ins of
 * one person, say), and the second run finds it instead of failing with a 500.
 */
export async function retryOnUniqueViolation<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return work();
  }
}
