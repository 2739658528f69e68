import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { recordAudit } from '../../audit/audit-recorder.js';
import { systemFork } from '../../db/tenant-scope.js';
import { SsoConnectionRepository } from './connection.repository.js';

/** Days before an IdP certificate expires at which its connection's people are told, once each. */
export const CERTIFICATE_WARNING_DAYS = [90, 30, 7] as const;
const DAY_MS = 86_400_000;

/**
 * Announces IdP signing certificates that come within 90, 30 or 7 days of expiry (or are past
 * it) as `connection.certificate_expiring` audit events, which reach webhooks: a certificate
 * the IdP rotates without anyone listing the new one here ends every sign-in through the
 * connection. Each threshold once per certificate, under the connection's row lock, so any
 * number of processes may run it. Returns the events written.
 */
export async function warnExpiringCertificates(source: MikroORM | EntityManager, now = new Date()): Promise<number> {
  const em = systemFork(source, 'certificate expiry: SAML connections of every environment');
  const horizon = new Date(now.getTime() + Math.max(...CERTIFICATE_WARNING_DAYS) * DAY_MS);
  let written = 0;
  for (const { connectionId, workspaceId } of await new SsoConnectionRepository(em).withCertificatesExpiringBefore(horizon)) {
    written += await systemFork(source, 'certificate expiry: one connection').transactional(async (tx) => {
      const connection = await new SsoConnectionRepository(tx).lock(connectionId);
      let events = 0;
      connection.idpCertificates = connection.idpCertificates.map((certificate) => {
        const left = new Date(certificate.notAfter).getTime() - now.getTime();
        const due = CERTIFICATE_WARNING_DAYS.filter((days) => left <= days * DAY_MS && !certificate.warnedDays?.includes(days));
        if (!due.length) return certificate;
        events += 1;
        recordAudit(tx, { principal: null, meta: { requestId: `certificate-expiry:${connection.id}`, ip: null, userAgent: 'gatehouse' } }, {
          action: 'connection.certificate_expiring',
          workspaceId,
          environmentId: connection.environmentId,
          organizationId: connection.organizationId,
          targets: [{ type: 'sso_connection', id: connection.id, name: connection.name }],
          after: {
            fingerprint: certificate.fingerprint,
            subject: certificate.subject,
            notAfter: certificate.notAfter,
            daysLeft: Math.floor(left / DAY_MS),
            threshold: Math.min(...due),
          },
        });
        return { ...certificate, warnedDays: [...new Set([...(certificate.warnedDays ?? []), ...due])].sort((a, b) => b - a) };
      });
      return events;
    });
  }
  return written;
}
