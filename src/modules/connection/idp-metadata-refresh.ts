import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { recordAudit } from '../../audit/audit-recorder.js';
import { systemFork } from '../../db/tenant-scope.js';
import type { IdpCertificate, SsoConnection } from './connection.entity.js';
import { SsoConnectionRepository } from './connection.repository.js';
import { checkEntityId, checkIdpCertificates, checkIdpUrl } from './connection.validation.js';
import { parseIdpMetadata } from './idp-metadata.js';

/** A connection's metadata is read again after this long. */
export const METADATA_REFRESH_MS = 24 * 60 * 60_000;
/** Connections refreshed per run at most: the rest wait for the next run. */
const REFRESHES_PER_RUN = 50;

/**
 * An IdP's metadata document, fetched through the outbound guard (`fetch`: no private address
 * unless allowed, size and time caps, no redirect). The XML, or why not, in words for the admin.
 */
export async function fetchIdpMetadata(fetch: typeof globalThis.fetch, url: string): Promise<{ xml: string } | { error: string }> {
  try {
    const response = await fetch(url, { headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' }, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    if (response.status !== 200) return { error: `the metadata URL answered HTTP ${response.status}` };
    return { xml: await response.text() };
  } catch {
    // One phrase for every network or policy failure: an URL pointed inside maps nothing.
    return { error: 'the metadata URL could not be fetched (unreachable, refused by the outbound policy, too large or too slow)' };
  }
}

/** A certificate listed again keeps the expiry warnings already sent for it. */
export function keepWarnings(connection: SsoConnection, certificates: IdpCertificate[]): IdpCertificate[] {
  const warned = new Map(connection.idpCertificates.map((certificate) => [certificate.fingerprint, certificate.warnedDays]));
  return certificates.map((certificate) => (warned.get(certificate.fingerprint) ? { ...certificate, warnedDays: warned.get(certificate.fingerprint) } : certificate));
}

/** Takes parsed metadata into the connection; returns whether anything it trusts changed. Throws BAD_USER_INPUT on unusable metadata. */
export function applyIdpMetadata(connection: SsoConnection, xml: string, field: string[]): boolean {
  const metadata = parseIdpMetadata(xml, field);
  const entityId = checkEntityId(metadata.entityId, field);
  const ssoUrl = metadata.ssoUrl === null ? null : checkIdpUrl(metadata.ssoUrl, field);
  const certificates = checkIdpCertificates(metadata.certificates, field);
  const fingerprints = (list: { fingerprint: string }[]) => list.map((certificate) => certificate.fingerprint).sort().join(',');
  const changed = entityId !== connection.idpEntityId || ssoUrl !== connection.idpSsoUrl || fingerprints(certificates) !== fingerprints(connection.idpCertificates);
  connection.idpEntityId = entityId;
  connection.idpSsoUrl = ssoUrl;
  connection.idpCertificates = keepWarnings(connection, certificates);
  return changed;
}

const trusted = (connection: SsoConnection) => ({
  idpEntityId: connection.idpEntityId,
  idpSsoUrl: connection.idpSsoUrl,
  idpCertificates: connection.idpCertificates.map((certificate) => ({ fingerprint: certificate.fingerprint, notAfter: certificate.notAfter })),
});

/**
 * Reads again the metadata of SAML connections that publish it at a URL, once a day: a change
 * (an IdP's certificate rotation, say) is taken and audited as `connection.metadata_refreshed`;
 * a failure is kept on the connection (`idpMetadataError`, audited once when it starts) and
 * changes nothing. Any process may run it: each connection is taken under its row lock.
 */
export async function refreshIdpMetadata(source: MikroORM | EntityManager, fetch: typeof globalThis.fetch, now = new Date()): Promise<number> {
  const due = await new SsoConnectionRepository(systemFork(source, 'metadata refresh: SAML connections of every environment')).withMetadataDueBefore(
    new Date(now.getTime() - METADATA_REFRESH_MS),
    REFRESHES_PER_RUN,
  );
  let refreshed = 0;
  for (const { connectionId, workspaceId, url } of due) {
    // Fetched outside any transaction: the IdP may take seconds.
    const fetched = await fetchIdpMetadata(fetch, url);
    refreshed += await systemFork(source, 'metadata refresh: one connection').transactional(async (tx) => {
      const connection = await new SsoConnectionRepository(tx).lock(connectionId);
      if (connection.idpMetadataUrl !== url) return 0;
      const before = trusted(connection);
      let error = 'error' in fetched ? fetched.error : null;
      let changed = false;
      if (!error) {
        try {
          changed = applyIdpMetadata(connection, (fetched as { xml: string }).xml, ['idpMetadataUrl']);
        } catch (refused) {
          error = refused instanceof Error ? refused.message : String(refused);
        }
      }
      const meta = { principal: null, meta: { requestId: `metadata-refresh:${connection.id}`, ip: null, userAgent: 'gatehouse' } };
      const event = { workspaceId, environmentId: connection.environmentId, organizationId: connection.organizationId, targets: [{ type: 'sso_connection', id: connection.id, name: connection.name }] };
      if (changed) recordAudit(tx, meta, { action: 'connection.metadata_refreshed', ...event, before, after: trusted(connection) });
      if (error && error !== connection.idpMetadataError) recordAudit(tx, meta, { action: 'connection.metadata_refresh_failed', ...event, after: { url, error } });
      connection.idpMetadataError = error;
      connection.idpMetadataFetchedAt = now;
      return changed ? 1 : 0;
    });
  }
  return refreshed;
}
