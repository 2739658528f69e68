import type { EntityManager } from '@mikro-orm/core';
import { connectionLoaders, type ConnectionLoaders } from '../modules/connection/connection.loader.js';
import { identityLoaders, type IdentityLoaders } from '../modules/identity/identity.loader.js';
import { membershipLoaders, type MembershipLoaders } from '../modules/membership/membership.loader.js';
import { oauthClientLoaders, type OAuthClientLoaders } from '../modules/oauth-client/oauth-client.loader.js';
import { organizationLoaders, type OrganizationLoaders } from '../modules/organization/organization.loader.js';
import { roleLoaders, type RoleLoaders } from '../modules/role/role.loader.js';
import { signingKeyLoaders, type SigningKeyLoaders } from '../modules/signing-key/signing-key.loader.js';
import { userLoaders, type UserLoaders } from '../modules/user/user.loader.js';
import { webhookLoaders, type WebhookLoaders } from '../modules/webhook/webhook.loader.js';

/**
 * Per-request batch loaders for every relation the schema exposes, one file per module
 * (`modules/<name>/<name>.loader.ts`), their SQL in the modules' repositories. They read
 * through the request's EntityManager, so only within the caller's tenant scope, and return
 * plain read-only rows (see db/rows.ts), never entities to change.
 */
export type Loaders = OrganizationLoaders &
  UserLoaders &
  RoleLoaders &
  MembershipLoaders &
  WebhookLoaders &
  OAuthClientLoaders &
  SigningKeyLoaders &
  ConnectionLoaders &
  IdentityLoaders;

export type { ChildPageOf as ChildPage } from '../db/child-pages.js';

export interface LoaderOptions {
  /** Batch loads (DataLoader); only the benchmark turns this off. */
  batch: boolean;
  maxPageSize: number;
}

export function createLoaders(em: EntityManager, options: LoaderOptions): Loaders {
  const users = userLoaders(em, options);
  return {
    ...organizationLoaders(em, options),
    ...users,
    ...roleLoaders(em, options),
    ...membershipLoaders(em, options, users),
    ...webhookLoaders(em, options),
    ...oauthClientLoaders(em, options),
    ...signingKeyLoaders(em, options),
    ...connectionLoaders(em, options),
    ...identityLoaders(em, options),
  };
}
