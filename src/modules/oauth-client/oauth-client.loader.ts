import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { Role } from '../role/role.entity.js';
import { RoleRepository } from '../role/role.repository.js';
import { OAuthClientRole, type ClientSecret } from './oauth-client.entity.js';
import { secretRowsOfClients } from './oauth-client.repository.js';

export interface OAuthClientLoaders {
  rolesByClient: DataLoader<string, Role[]>;
  secretsByClient: DataLoader<string, ClientSecret[]>;
}

/** Per-request batch loaders of the roles and secrets of OAuth clients (plain read-only rows). */
export function oauthClientLoaders(em: EntityManager, options: LoaderOptions): OAuthClientLoaders {
  const roles = new RoleRepository(em);
  return {
    rolesByClient: new DataLoader((ids) => roles.rowsViaLink(OAuthClientRole, 'clientId', ids), { batch: options.batch }),
    secretsByClient: new DataLoader((ids) => secretRowsOfClients(em, ids), { batch: options.batch }),
  };
}
