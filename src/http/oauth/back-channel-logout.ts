import type { Logger } from 'pino';
import { signCompact } from '../../crypto/signing-keys.js';
import { ulid } from '../../db/id.js';
import type { AuditBatcher } from '../../audit/audit-batcher.js';
import type { RequestMeta } from '../../audit/audit-recorder.js';
import { guardedFetch } from '../outbound-fetch.js';
import type { ClientState, EnvironmentState } from './oauth-cache.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Attempts per application, and the waits between them. */
const RETRY_DELAYS_MS = [0, 2_000, 10_000];
const TIMEOUT_MS = 5_000;

/** OpenID Connect Back-Channel Logout 1.0 §2.4: a logout token for one application and session. */
export function logoutToken(env: EnvironmentState, client: ClientState, subject: string, sessionId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: env.issuer, aud: client.clientId, iat: now, exp: now + 120, jti: `lt_${ulid()}`, sub: subject, sid: sessionId, events: { [LOGOUT_EVENT]: {} } };
  return signCompact({ typ: 'logout+jwt', kid: env.signer!.kid }, claims, env.signer!.key, env.signer!.alg);
}

/**
 * Tells every application that registered a back-channel logout URI that a session ended
 * (§2.5: a form POST of `logout_token`), through the outbound guard, retried a few times in
 * this process; each outcome is audited (`session.backchannel_logout_delivered|failed`). Runs
 * after the sign-out has committed and the browser has been answered.
 */
export function notifyBackChannelLogout(
  deps: { audit: AuditBatcher; logger: Logger; allowPrivate: boolean },
  env: EnvironmentState,
  clients: ClientState[],
  subject: string,
  sessionId: string,
  meta: RequestMeta,
): Promise<void[]> {
  const send = guardedFetch({ maxBytes: 16 * 1024, timeoutMs: TIMEOUT_MS, allowPrivate: deps.allowPrivate });
  return Promise.all(
    clients
      .filter((client) => client.backchannelLogoutUri && client.enabled && env.signer)
      .map(async (client) => {
        let outcome = 'unreachable';
        let attempts = 0;
        for (const delay of RETRY_DELAYS_MS) {
          if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
          attempts += 1;
          try {
            const response = await send(client.backchannelLogoutUri!, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
              body: new URLSearchParams({ logout_token: logoutToken(env, client, subject, sessionId) }).toString(),
            });
            outcome = `status_${response.status}`;
            // §2.8: 200 (or 204) is success; 400 is the RP refusing, which a retry will not change.
            if (response.ok || response.status === 400) break;
          } catch (error) {
            outcome = 'unreachable';
            deps.logger.warn({ err: error, clientId: client.id }, 'back-channel logout delivery failed');
          }
        }
        const delivered = outcome === 'status_200' || outcome === 'status_204';
        await deps.audit
          .append(
            { principal: null, meta },
            {
              action: delivered ? 'session.backchannel_logout_delivered' : 'session.backchannel_logout_failed',
              workspaceId: env.workspaceId,
              environmentId: env.id,
              targets: [
                { type: 'session', id: sessionId },
                { type: 'oauth_client', id: client.id, name: client.name },
              ],
              after: { outcome, attempts },
            },
          )
          .catch((error: unknown) => deps.logger.error({ err: error }, 'could not audit a back-channel logout'));
      }),
  );
}
