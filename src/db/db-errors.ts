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

function constraintOf(error: DriverException): string | undefined {
  const named = (error as { constraint?: string }).constraint;
  if (named) return named;
  return /constraint "([^"]+)"/.exec(error.message)?.[1];
}

/** Turns known constraint violations into domain errors; anything else passes through. */
export function mapDbError(error: unknown): unknown {
  if (error instanceof UniqueConstraintViolationException) {
    const make = UNIQUE_VIOLATIONS[constraintOf(error) ?? ''];
    return make ? make() : conflict('conflict', 'This value conflicts with an existing record');
  }
  if (error instanceof ForeignKeyConstraintViolationException) {
    return conflict('conflict.reference', 'A referenced record no longer exists');
  }
  return error;
}
