import type { EntityManager } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { LoaderOptions } from '../../graphql/loaders.js';
import type { WebhookAttempt } from './webhook.entity.js';
import { attemptRowsOfDeliveries } from './webhook.repository.js';

export interface WebhookLoaders {
  attemptsByDelivery: DataLoader<string, WebhookAttempt[]>;
}

/** Per-request batch loader of the attempts of webhook deliveries (plain read-only rows). */
export function webhookLoaders(em: EntityManager, options: LoaderOptions): WebhookLoaders {
  return {
    attemptsByDelivery: new DataLoader((ids) => attemptRowsOfDeliveries(em, ids), { batch: options.batch }),
  };
}
