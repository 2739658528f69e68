import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { isUniqueViolation } from '../../db/db-errors.js';
import { ClientRegistrationPolicy } from '../../modules/environment/environment.entity.js';
import { checkMetadataDocument, isMetadataDocumentUrl, MetadataDocumentError, upsertMetadataDocumentClient } from '../../modules/oauth-client/metadata-document.service.js';
import { environmentEm } from './context.js';
import type { EnvironmentState, OAuthCache } from './oauth-cache.js';

/** The draft asks servers to cap documents at 5 KB. */
const MAX_DOCUMENT_BYTES = 5 * 1024;
/** How long a fetched document is trusted without `Cache-Control`, and the bounds on what it may say. */
const DEFAULT_FRESH_S = 300;
const MIN_FRESH_S = 60;
const MAX_FRESH_S = 86_400;
const MAX_TRACKED = 10_000;
const FETCHES_PER_ADDRESS_PER_MINUTE = 20;

/**
 * Client ID Metadata Documents at the authorization endpoint: when `client_id` is an https URL
 * and the environment's registration is open, the document is fetched through the outbound
 * guard (no private targets, no redirects, 5 s, 5 KB), checked, and its client's row made or
 * brought in line. A document is fetched again only when its freshness (Cache-Control max-age,
 * bounded to 1 min–1 day) has run out, per process.
 */
export class MetadataDocumentClients {
  private readonly freshUntil = new Map<string, number>();

  constructor(
    private readonly deps: { orm: MikroORM; cache: OAuthCache; logger: Logger; fetch: typeof fetch },
    /** Fetches per client address and minute: anyone may name any URL, so fetching is budgeted like open registration. */
    private readonly fetches = new RateBudget(FETCHES_PER_ADDRESS_PER_MINUTE),
  ) {}

  /** Null when the client can be used now; otherwise why not, in fixed words. */
  async ensure(env: EnvironmentState, clientId: string, meta: RequestMeta): Promise<string | null> {
    if (env.registrationPolicy !== ClientRegistrationPolicy.OPEN) return 'This environment does not accept client metadata documents';
    if (!isMetadataDocumentUrl(clientId)) return 'client_id is not a usable https URL';
    const key = `${env.id} ${clientId}`;
    if ((this.freshUntil.get(key) ?? 0) > Date.now()) return null;
    if ((await this.fetches.take(addressKey(meta.ip))) > 0) return 'Too many client metadata documents were asked for from this address; try again in a minute';
    let document: unknown;
    let freshFor = DEFAULT_FRESH_S;
    try {
      const response = await this.deps.fetch(clientId, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(5_000) });
      if (response.status !== 200) return 'The client metadata document could not be fetched';
      const body = await response.text();
      if (Buffer.byteLength(body) > MAX_DOCUMENT_BYTES) return 'The client metadata document is too large';
      document = JSON.parse(body);
      const maxAge = /max-age=(\d{1,9})/.exec(response.headers.get('cache-control') ?? '');
      if (maxAge) freshFor = Math.min(MAX_FRESH_S, Math.max(MIN_FRESH_S, Number(maxAge[1])));
    } catch (error) {
      this.deps.logger.info({ err: error, clientId }, 'client metadata document not fetched');
      return 'The client metadata document could not be fetched';
    }
    try {
      const checked = checkMetadataDocument(clientId, document);
      const issuer = { ...env, resourceServers: [...env.resourceServers.values()] };
      const write = () => environmentEm(this.deps.orm, env).transactional((em) => upsertMetadataDocumentClient(em, issuer, clientId, checked, meta));
      // Two first uses at once: the second finds the row the first made.
      const client = await write().catch((error: unknown) => (isUniqueViolation(error) ? write() : Promise.reject(error)));
      this.deps.cache.invalidateClient(client.id);
    } catch (error) {
      if (error instanceof MetadataDocumentError) return error.message;
      throw error;
    }
    if (this.freshUntil.size >= MAX_TRACKED) this.freshUntil.clear();
    this.freshUntil.set(key, Date.now() + freshFor * 1000);
    return null;
  }
}
