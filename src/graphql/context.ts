import type { EntityManager } from '@mikro-orm/core';
import type { RequestMeta } from '../audit/audit-recorder.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { ServiceContext } from '../modules/service-context.js';
import type { LoaderOptions, Loaders } from './loaders.js';

/** Per-request GraphQL context: the caller, a fresh EntityManager fork, per-request loaders. */
export interface GraphQLContext {
  principal: Principal;
  meta: RequestMeta;
  em: EntityManager;
  /** Replaced by fresh loaders after each mutation (cached relations may be stale). */
  loaders: Loaders;
  loaderOptions: LoaderOptions;
  config: Config;
}

export const services = (ctx: GraphQLContext): ServiceContext => ({ em: ctx.em, principal: ctx.principal, meta: ctx.meta });
