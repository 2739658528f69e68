import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import { SpKey } from './sp-key.entity.js';

export interface ConnectionLoaders {
  spKeysByConnection: DataLoader<string, SpKey[]>;
}

/** Per-request batch loader of SSO connections' SP keys (newest first), read through the request's scoped EntityManager. */
export function connectionLoaders(em: EntityManager, options: LoaderOptions): ConnectionLoaders {
  return {
    spKeysByConnection: new DataLoader(
      async (ids) => {
        const keys = await em.find(SpKey, { connectionId: { $in: [...ids] } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
        return ids.map((id) => keys.filter((key) => key.connectionId === id));
      },
      { batch: options.batch },
    ),
  };
}
