import type { EntityManager } from '@mikro-orm/core';
import type { AuditBus } from '../audit/audit-bus.js';
import type { ChainTails } from '../audit/chain-tail.js';
import type { ChainVerificationLimits } from '../audit/audit.service.js';
import type { RequestMeta } from '../audit/audit-recorder.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/at-rest.js';
import type { EmailSettings } from '../modules/email/email.service.js';
import type { TxtResolver } from '../modules/organization/domain-verification.js';
import type { ServiceContext } from '../modules/service-context.js';
import type { WebhookSettings } from '../modules/webhook/webhook.service.js';
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
  /** DNS TXT lookups (domain verification); the outside world, replaceable in tests. */
  resolveTxt: TxtResolver;
  /** Fetches on a tenant's behalf (IdP metadata URLs), through the outbound guard; the outside world, replaceable in tests. */
  outboundFetch: typeof fetch;
  /** Seals secrets at rest (signing keys) with the master key. */
  secretBox: SecretBox;
  /** Sealing of webhook secrets and the outbound target policy. */
  webhooks: WebhookSettings;
  /** Sends mail (SMTP, or a development environment's outbox), and the test-message budget. */
  email: EmailSettings;
  /** Wakes live audit streams when events commit. */
  auditBus: AuditBus;
  /** The newest events of each streamed chain, shared by this process's subscribers. */
  auditTails: ChainTails;
  /** Chain verification: calls per API key per minute, and events re-hashed per call. */
  verification: ChainVerificationLimits;
  /**
   * The WebSocket of a subscription: to close it (a consumer too slow), and a signal that
   * aborts when the operation completes or the socket closes, so waiting streams end at once.
   */
  connection?: { close(code: number, reason: string): void; signal: AbortSignal };
}

export const services = (ctx: GraphQLContext): ServiceContext => ({ em: ctx.em, principal: ctx.principal, meta: ctx.meta });
