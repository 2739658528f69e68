import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { User } from './user.entity.js';
import { UserRepository } from './user.repository.js';

export interface UserLoaders {
  user: DataLoader<string, User | null>;
}

/** Per-request batch loader of users (plain read-only rows). */
export function userLoaders(em: EntityManager, options: LoaderOptions): UserLoaders {
  const users = new UserRepository(em);
  return {
    user: new DataLoader((ids) => users.rowsById(ids), { batch: options.batch }),
  };
}
