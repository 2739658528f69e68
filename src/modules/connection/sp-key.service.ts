import type { EntityManager } from '@mikro-orm/core';
import { createSign } from 'node:crypto';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { selfSignedKey } from '../../crypto/self-signed.js';
import { newId } from '../../db/id.js';
import { invalid } from '../../errors/app-error.js';
import { audit, inTransaction, type ServiceContext } from '../service-context.js';
import { SsoConnectionType } from './connection.entity.js';
import { SsoConnectionRepository } from './connection.repository.js';
import { SpKeyRepository } from './sp-key.repository.js';
import { SpKey, SpKeyUse } from './sp-key.entity.js';

/** Keys of one use per connection: the current one and the next, with room for a third during a slow rotation. */
export const MAX_SP_KEYS_PER_USE = 3;
/** SP certificates are exchanged in metadata, where their dates are not enforced by most IdPs; five years. */
const SP_CERTIFICATE_DAYS = 5 * 365;
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

const keyBinding = (id: string) => `sso_sp_key:${id}:private_key`;

const snapshotKey = (key: SpKey) => ({ id: key.id, connectionId: key.connectionId, use: key.use, fingerprint: key.fingerprint, notAfter: key.notAfter.toISOString() });

/**
 * A new SP key pair for a SAML connection: a signing key signs AuthnRequests from now on (the
 * newest signs); an encryption key is offered to the IdP in the metadata and decrypts from now
 * on, beside the older ones. Audited as `connection.sp_key_created`.
 */
export async function createSpKey(ctx: ServiceContext, box: SecretBox, input: { connectionId: string; use: SpKeyUse }): Promise<SpKey> {
  requireScope(ctx.principal, 'organizations:write');
  // Key generation takes tens of milliseconds: before the transaction.
  const generated = await selfSignedKey(`Gatehouse SP ${input.use.toLowerCase()}`, { days: SP_CERTIFICATE_DAYS, usage: input.use === SpKeyUse.SIGNING ? 'signing' : 'encryption' });
  return inTransaction(ctx, async (em) => {
    const connection = await new SsoConnectionRepository(em).lock(input.connectionId);
    if (connection.type !== SsoConnectionType.SAML) throw invalid('sso_connection.wrong_type', 'Only SAML connections have SP keys', ['input', 'connectionId']);
    const keys = new SpKeyRepository(em);
    if ((await keys.ofConnection(connection.id)).filter((key) => key.use === input.use).length >= MAX_SP_KEYS_PER_USE) {
      throw invalid('sso_connection.too_many_sp_keys', `At most ${MAX_SP_KEYS_PER_USE} ${input.use.toLowerCase()} keys: delete the oldest first`, ['input', 'use']);
    }
    const id = newId('spKey');
    const key = keys.create({
      id,
      environmentId: connection.environmentId,
      connectionId: connection.id,
      use: input.use,
      certificate: generated.certificate,
      fingerprint: generated.fingerprint,
      notAfter: generated.notAfter,
      privateKeySealed: box.seal(generated.privateKey, keyBinding(id)),
    });
    audit(ctx, em, { action: 'connection.sp_key_created', environmentId: connection.environmentId, organizationId: connection.organizationId, targets: [{ type: 'sso_connection', id: connection.id, name: connection.name }], after: snapshotKey(key) });
    return key;
  });
}

/** Deletes an SP key (the end of a rotation, once the IdP has the next one). Audited as `connection.sp_key_deleted`. */
export async function deleteSpKey(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'organizations:write');
  return inTransaction(ctx, async (em) => {
    const keys = new SpKeyRepository(em);
    const key = await keys.get(input.id);
    const connection = await new SsoConnectionRepository(em).lock(key.connectionId);
    await keys.delete(key.id);
    audit(ctx, em, { action: 'connection.sp_key_deleted', environmentId: connection.environmentId, organizationId: connection.organizationId, targets: [{ type: 'sso_connection', id: connection.id, name: connection.name }], before: snapshotKey(key) });
    return key.id;
  });
}

export async function getSpKey(ctx: ServiceContext, id: string): Promise<SpKey> {
  requireScope(ctx.principal, 'organizations:read');
  return new SpKeyRepository(ctx.em).get(id);
}

/** A connection's SP keys, newest first. */
export function spKeysOf(em: EntityManager, connectionId: string): Promise<SpKey[]> {
  return new SpKeyRepository(em).ofConnection(connectionId);
}

/** The private keys an encrypted assertion may be for (every encryption key listed). */
export function decryptionKeysOf(keys: readonly SpKey[], box: SecretBox): string[] {
  return keys.filter((key) => key.use === SpKeyUse.ENCRYPTION).map((key) => box.open(key.privateKeySealed, keyBinding(key.id)));
}

/**
 * Signs an HTTP-Redirect message (SAML Bindings §3.4.4.1) with the connection's newest signing
 * key, if it has one: the signature covers `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as
 * they appear, URL-encoded, in the query.
 */
export function signRedirect(url: URL, keys: readonly SpKey[], box: SecretBox): void {
  const key = keys.find((candidate) => candidate.use === SpKeyUse.SIGNING);
  if (!key) return;
  url.searchParams.set('SigAlg', RSA_SHA256);
  const ours = ['SAMLRequest', 'RelayState', 'SigAlg'];
  const signed = ours
    .filter((name) => url.searchParams.has(name))
    .map((name) => `${name}=${encodeURIComponent(url.searchParams.get(name)!)}`)
    .join('&');
  const signature = createSign('RSA-SHA256').update(signed).sign(box.open(key.privateKeySealed, keyBinding(key.id)), 'base64');
  // The IdP's own query parameters (if its SSO URL has any) stay in front, unsigned.
  const theirs = [...url.searchParams].filter(([name]) => !ours.includes(name) && name !== 'Signature');
  const prefix = theirs.length ? `${new URLSearchParams(theirs).toString()}&` : '';
  url.search = `${prefix}${signed}&Signature=${encodeURIComponent(signature)}`;
}
