import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../../audit/audit-recorder.js';
import { newId } from '../../db/id.js';
import { AppError } from '../../errors/app-error.js';
import { displayText, findUncleanText } from '../text.js';
import { checkAppRedirectUris } from './application-settings.js';
import type { RegistrationIssuer } from './client-registration.service.js';
import { ApplicationType, ClientKind, type OAuthClient } from './oauth-client.entity.js';
import { OAuthClientRepository } from './oauth-client.repository.js';

/**
 * Clients known by a Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document,
 * the registration the MCP authorization specification prefers): the `client_id` is an https
 * URL, and the JSON document there says who the client is. Such a client is public (PKCE
 * only), third-party (people consent), and may ask for what the environment lets open
 * registration ask for. It is kept as a DYNAMIC application row so admins see it, disable it,
 * and so codes, tokens and consents link to it; the row follows the document when it changes.
 */

export const MAX_DOCUMENT_URL_LENGTH = 2048;

/** Why a document cannot be used, in fixed words (the page shows them; nothing of the document is echoed). */
export class MetadataDocumentError extends Error {}

export interface CheckedDocument {
  name: string;
  redirectUris: string[];
  grantTypes: string[];
  native: boolean;
  metadata: Record<string, unknown>;
}

/** Whether `value` can be a client_id that is a metadata document's URL (https, a path, nothing else). */
export function isMetadataDocumentUrl(value: string): boolean {
  if (value.length > MAX_DOCUMENT_URL_LENGTH || !value.startsWith('https://')) return false;
  try {
    const url = new URL(value);
    return url.pathname !== '/' && !url.username && !url.password && !url.hash && url.toString() === value;
  } catch {
    return false;
  }
}

const LOOPBACK_OR_CUSTOM = (uri: string) => !uri.startsWith('https://');

/** Checks a fetched document for the URL it came from. */
export function checkMetadataDocument(url: string, document: unknown): CheckedDocument {
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw new MetadataDocumentError('The client metadata document is not a JSON object');
  if (findUncleanText(document)) throw new MetadataDocumentError('The client metadata document holds text that is not well-formed');
  const doc = document as Record<string, unknown>;
  if (doc.client_id !== url) throw new MetadataDocumentError('The client metadata document names another client_id');
  // A document is public: a secret in it would be everyone's (the draft forbids them).
  if (doc.client_secret !== undefined || doc.client_secret_expires_at !== undefined) throw new MetadataDocumentError('A client metadata document must not hold a secret');
  const method = doc.token_endpoint_auth_method ?? 'none';
  if (method !== 'none') throw new MetadataDocumentError('Only public clients (token_endpoint_auth_method none) may use a metadata document here');
  const grants = doc.grant_types ?? ['authorization_code'];
  if (!Array.isArray(grants) || !grants.includes('authorization_code') || grants.some((grant) => grant !== 'authorization_code' && grant !== 'refresh_token')) {
    throw new MetadataDocumentError('grant_types must be authorization_code, and refresh_token if wanted');
  }
  const responseTypes = doc.response_types ?? ['code'];
  if (!Array.isArray(responseTypes) || responseTypes.length !== 1 || responseTypes[0] !== 'code') throw new MetadataDocumentError('response_types must be ["code"]');
  if (!Array.isArray(doc.redirect_uris) || doc.redirect_uris.length === 0) throw new MetadataDocumentError('redirect_uris is required');
  const native = doc.application_type === 'native' || (doc.application_type === undefined && doc.redirect_uris.some((uri) => typeof uri === 'string' && LOOPBACK_OR_CUSTOM(uri)));
  let redirectUris: string[];
  try {
    redirectUris = checkAppRedirectUris(native ? ApplicationType.NATIVE : ApplicationType.WEB, doc.redirect_uris, ['redirect_uris']);
  } catch (error) {
    if (error instanceof AppError) throw new MetadataDocumentError(`redirect_uris: ${error.message}`);
    throw error;
  }
  const rawName = typeof doc.client_name === 'string' ? displayText(doc.client_name) : '';
  const name = (rawName || new URL(url).host).slice(0, 200);
  const metadata: Record<string, unknown> = { client_id_metadata_document: url, application_type: native ? 'native' : 'web' };
  for (const key of ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'software_id', 'software_version']) {
    const value = doc[key];
    if (typeof value === 'string' && value.length <= 2048 && (!key.endsWith('_uri') || value.startsWith('https://'))) metadata[key] = value;
  }
  return { name, redirectUris, grantTypes: [...new Set(grants as string[])].sort(), native, metadata };
}

const snapshot = (client: OAuthClient) => ({
  id: client.id,
  name: client.name,
  clientId: client.metadataDocumentUrl,
  grantTypes: client.grantTypes,
  redirectUris: client.redirectUris,
  allowedScopes: client.allowedScopes,
  allowedAudiences: client.allowedAudiences,
});

/**
 * The application row of a metadata document's client: made the first time the URL is used
 * (`application.registered`), brought in line when the document changed
 * (`application.metadata_document_changed`). An admin's changes to scopes, audiences or its
 * enabled state stay. Run in a transaction.
 */
export async function upsertMetadataDocumentClient(em: EntityManager, issuer: RegistrationIssuer, url: string, checked: CheckedDocument, meta: RequestMeta): Promise<OAuthClient> {
  const clients = new OAuthClientRepository(em, 'application');
  const existing = await clients.findByMetadataDocument(issuer.id, url);
  const actor = { principal: null, anonymous: true, meta };
  if (!existing) {
    const scopes = issuer.registrationScopes;
    const created = clients.create({
      id: newId('application'),
      environmentId: issuer.id,
      kind: ClientKind.APPLICATION,
      applicationType: ApplicationType.DYNAMIC,
      name: checked.name,
      allowedScopes: scopes,
      allowedAudiences: issuer.resourceServers.filter((server) => server.scopes.some((scope) => scopes.includes(scope.name))).map((server) => server.identifier),
      grantTypes: checked.grantTypes,
      redirectUris: checked.redirectUris,
      tokenEndpointAuthMethod: 'none',
      registrationMetadata: checked.metadata,
      metadataDocumentUrl: url,
      firstParty: false,
    });
    recordAudit(em, actor, {
      action: 'application.registered',
      workspaceId: issuer.workspaceId,
      environmentId: issuer.id,
      targets: [{ type: 'application', id: created.id, name: created.name }],
      after: { ...snapshot(created), via: 'client_id_metadata_document' },
    });
    await em.flush();
    return created;
  }
  const same =
    existing.name === checked.name &&
    JSON.stringify(existing.redirectUris) === JSON.stringify(checked.redirectUris) &&
    JSON.stringify(existing.grantTypes) === JSON.stringify(checked.grantTypes) &&
    JSON.stringify(existing.registrationMetadata) === JSON.stringify(checked.metadata);
  if (same) return existing;
  const locked = await clients.lock(existing.id);
  const before = snapshot(locked);
  locked.name = checked.name;
  locked.redirectUris = checked.redirectUris;
  locked.grantTypes = checked.grantTypes;
  locked.registrationMetadata = checked.metadata;
  recordAudit(em, actor, {
    action: 'application.metadata_document_changed',
    workspaceId: issuer.workspaceId,
    environmentId: issuer.id,
    targets: [{ type: 'application', id: locked.id, name: locked.name }],
    before,
    after: snapshot(locked),
  });
  await em.flush();
  return locked;
}
