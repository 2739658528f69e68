import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from 'pino';
import type { AuditBatcher } from '../../audit/audit-batcher.js';
import { signCompact } from '../../crypto/signing-keys.js';
import type { Database } from '../../db/database.js';
import { ulid } from '../../db/id.js';
import { OutboxPump } from '../../db/outbox-pump.js';
import { systemFork } from '../../db/tenant-scope.js';
import { LogoutNoticeRepository, type ClaimedNotice } from '../../modules/session/logout-notice.repository.js';
import { guardedFetch } from '../outbound-fetch.js';
import type { ClientState, EnvironmentState, OAuthCache } from './oauth-cache.js';
import { signerOf } from './tokens.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Notified for each new notice (the logout_notices migration). */
export const LOGOUT_CHANNEL = 'gatehouse_logout';
const TIMEOUT_MS = 5_000;
/** A claim outlives the longest attempt by this margin; after it another worker may take over. */
const LEASE_SECONDS = Math.ceil(TIMEOUT_MS / 1000) + 60;
const CONCURRENCY = 8;
/**
 * How often each process looks for notices besides being woken: a new notice wakes every
 * process (NOTIFY), and a retry this process schedules wakes it when due; the poll is only the
 * net for the rest (a retry of a process that died, a lease that ran out).
 */
const SAFETY_POLL_MS = 5 * 60_000;

/** OpenID Connect Back-Channel Logout 1.0 §2.4: a logout token for one application and session. */
export function logoutToken(env: EnvironmentState, client: ClientState, subject: string, sessionId: string): string {
  const signer = signerOf(env);
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: env.issuer, aud: client.clientId, iat: now, exp: now + 120, jti: `lt_${ulid()}`, sub: subject, sid: sessionId, events: { [LOGOUT_EVENT]: {} } };
  return signCompact({ typ: 'logout+jwt', kid: signer.kid }, claims, signer.key, signer.alg);
}

export interface BackChannelLogoutOptions {
  orm: MikroORM;
  cache: OAuthCache;
  audit: AuditBatcher;
  listen: Database['listen'];
  logger: Logger;
  allowPrivateTargets: boolean;
  /** Seconds before each retry; its length is the number of retries. */
  retrySchedule: number[];
}

/**
 * Tells applications that a session ended (§2.5: a form POST of `logout_token` to the URI they
 * registered), from the outbox that the ending transaction wrote (`LogoutNotice`), in every
 * process at once (`OutboxPump`), through the outbound guard. 200 or 204 is delivered, 400 the
 * application refusing (a retry would not change it, §2.8); anything else is retried on
 * `retrySchedule`, with a fresh token each time. Each outcome is audited
 * (`session.backchannel_logout_delivered|failed`).
 */
export class BackChannelLogoutWorker {
  private readonly pump: OutboxPump<ClaimedNotice>;
  private readonly post: ReturnType<typeof guardedFetch>;

  constructor(private readonly options: BackChannelLogoutOptions) {
    this.post = guardedFetch({ maxBytes: 16 * 1024, timeoutMs: TIMEOUT_MS, allowPrivate: options.allowPrivateTargets });
    this.pump = new OutboxPump({
      what: 'back-channel logout',
      listen: options.listen,
      channel: LOGOUT_CHANNEL,
      pollMs: SAFETY_POLL_MS,
      logger: options.logger,
      claim: () => this.notices().claimDue(LEASE_SECONDS, CONCURRENCY),
      send: (notice) => this.send(notice),
    });
  }

  start(): Promise<void> {
    return this.pump.start();
  }

  stop(): Promise<void> {
    return this.pump.stop();
  }

  private notices(): LogoutNoticeRepository {
    return new LogoutNoticeRepository(systemFork(this.options.orm, 'back-channel logout: notices of every environment'));
  }

  private async send(notice: ClaimedNotice): Promise<void> {
    const env = await this.options.cache.environment(notice.environmentId);
    const client = env ? await this.options.cache.client(env, notice.clientId) : null;
    // The application dropped its URI or was disabled since: there is no one to tell.
    if (!env || !client?.backchannelLogoutUri || !client.enabled) {
      await this.notices().settle(notice);
      return;
    }
    if (!env.signer) {
      await this.notices().retryLater(notice, 'no_signing_key', 60);
      this.pump.kickIn(60_000);
      return;
    }

    let outcome: string;
    try {
      const response = await this.post(client.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
        body: new URLSearchParams({ logout_token: logoutToken(env, client, notice.subject, notice.sessionId) }).toString(),
      });
      outcome = `status_${response.status}`;
    } catch (error) {
      outcome = 'unreachable';
      this.options.logger.warn({ err: error, clientId: client.id }, 'back-channel logout attempt failed');
    }
    const delivered = outcome === 'status_200' || outcome === 'status_204';
    const retries = this.options.retrySchedule;
    if (!delivered && outcome !== 'status_400' && notice.attempts <= retries.length) {
      const delaySeconds = retries[notice.attempts - 1];
      await this.notices().retryLater(notice, outcome, delaySeconds);
      this.pump.kickIn(delaySeconds * 1000);
      return;
    }
    if (!(await this.notices().settle(notice))) return; // another worker took it over meanwhile
    await this.options.audit
      .append(
        { principal: null, meta: { requestId: `logout:${notice.id}`, ip: null, userAgent: 'gatehouse-logout' } },
        {
          action: delivered ? 'session.backchannel_logout_delivered' : 'session.backchannel_logout_failed',
          workspaceId: env.workspaceId,
          environmentId: env.id,
          targets: [
            { type: 'session', id: notice.sessionId },
            { type: 'oauth_client', id: client.id, name: client.name },
          ],
          after: { outcome, attempts: notice.attempts },
        },
      )
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'could not audit a back-channel logout'));
  }
}
