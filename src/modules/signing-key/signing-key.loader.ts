import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { SigningKey } from './signing-key.entity.js';
import { signingKeyRowsOfEnvironments } from './signing-key.repository.js';

export interface SigningKeyLoaders {
  /** Every signing key of an environment (a key's state depends on its siblings). */
  signingKeysByEnvironment: DataLoader<string, SigningKey[]>;
}

/** Per-request batch loader of the signing keys of environments (plain read-only rows). */
export function signingKeyLoaders(em: EntityManager, options: LoaderOptions): SigningKeyLoaders {
  return {
    signingKeysByEnvironment: new DataLoader((ids) => signingKeyRowsOfEnvironments(em, ids), { batch: options.batch }),
  };
}
