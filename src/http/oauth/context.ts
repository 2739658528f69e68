import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { AuditBatcher } from '../../audit/audit-batcher.js';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import type { FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import type { Config } from '../../config.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { scopedFork, tenantScope } from '../../db/tenant-scope.js';
import type { FormParams } from './form.js';
import type { EnvironmentState, OAuthCache } from './oauth-cache.js';
import type { ReplayGuard } from './replay-guard.js';
import type { SecretUsage } from './secret-usage.js';
import type { MetadataDocumentClients } from './metadata-documents.js';

/** What the OAuth endpoints share for the life of the server. */
export interface OAuthDeps {
  orm: MikroORM;
  config: Config;
  box: SecretBox;
  cache: OAuthCache;
  /** Token issuance and other hot-path events: group-committed before the response. */
  audit: AuditBatcher;
  /** Failed client authentications per client IP. */
  ipFailures: FailedAuthLimiter;
  /** Failed client authentications per client id. */
  clientFailures: FailedAuthLimiter;
  /** Open dynamic registrations per client IP. */
  registrations: FailedAuthLimiter;
  secretUsage: SecretUsage;
  /** Client assertion ids seen, across processes. */
  replayGuard: ReplayGuard;
  /** Clients known by a Client ID Metadata Document (MCP). */
  metadataDocuments: MetadataDocumentClients;
  logger: Logger;
}

/** One request to an environment's OAuth endpoint. */
export interface OAuthRequest {
  env: EnvironmentState;
  params: FormParams;
  meta: RequestMeta;
  authorization: string | undefined;
}

/**
 * An EntityManager scoped to the environment of the issuer a request names: the token path
 * knows its tenant from the URL, so everything it reads or writes is that environment's.
 */
export const environmentEm = (orm: MikroORM, env: Pick<EnvironmentState, 'id' | 'workspaceId'>): EntityManager =>
  scopedFork(orm, tenantScope(env.workspaceId, [env.id]));
