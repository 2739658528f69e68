import type { EntityManager } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { generateSigningKey, sealPrivateKey, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../../crypto/signing-keys.js';
import { newId } from '../../db/id.js';
import { invalid } from '../../errors/app-error.js';
import { audit, environmentFor, findScoped, inTransaction, lockScoped, type ServiceContext } from '../service-context.js';
import { SigningKey } from './signing-key.entity.js';

/** No access token lives longer; a superseded key stays published this long after it stops signing. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;
/** Default wait between publishing a rotated key and signing with it: well over the JWKS cache lifetime. */
export const DEFAULT_ACTIVATION_DELAY_SECONDS = 900;
export const JWKS_MAX_AGE_SECONDS = 300;

export enum SigningKeyState {
  /** Published, not yet signing. */
  NEXT = 'NEXT',
  /** Signing new tokens. */
  ACTIVE = 'ACTIVE',
  /** No longer signing; published until its last tokens expire. */
  RETIRED = 'RETIRED',
  /** No longer published. */
  EXPIRED = 'EXPIRED',
  /** Revoked in an emergency: unpublished at once, its tokens rejected. */
  REVOKED = 'REVOKED',
}

/** When a superseded key may leave the JWKS: the last token it signed has expired by then. */
export const unpublishAt = (key: Pick<SigningKey, 'supersededAt'>): Date | null =>
  key.supersededAt ? new Date(key.supersededAt.getTime() + MAX_ACCESS_TOKEN_TTL_SECONDS * 1000) : null;

/** The key that signs at `now`: the newest activated one that is not revoked. */
export function currentSigner<K extends Pick<SigningKey, 'activatesAt' | 'revokedAt'>>(keys: readonly K[], now: Date): K | undefined {
  let signer: K | undefined;
  for (const key of keys) {
    if (key.revokedAt || key.activatesAt > now) continue;
    if (!signer || key.activatesAt > signer.activatesAt) signer = key;
  }
  return signer;
}

export function isPublished(key: Pick<SigningKey, 'revokedAt' | 'supersededAt'>, now: Date): boolean {
  if (key.revokedAt) return false;
  const until = unpublishAt(key);
  return !until || until > now;
}

export function signingKeyState(key: SigningKey, signer: SigningKey | undefined, now: Date): SigningKeyState {
  if (key.revokedAt) return SigningKeyState.REVOKED;
  if (key.activatesAt > now) return SigningKeyState.NEXT;
  if (signer && key.id === signer.id) return SigningKeyState.ACTIVE;
  return isPublished(key, now) ? SigningKeyState.RETIRED : SigningKeyState.EXPIRED;
}

const snapshotKey = (key: SigningKey) => ({
  id: key.id,
  kid: key.kid,
  algorithm: key.algorithm,
  activatesAt: key.activatesAt.toISOString(),
  supersededAt: key.supersededAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
});
const keyTarget = (key: SigningKey) => ({ type: 'signing_key', id: key.id, name: key.kid });

async function newKey(em: EntityManager, box: SecretBox, environmentId: string, algorithm: SigningAlgorithm, activatesAt: Date): Promise<SigningKey> {
  const generated = await generateSigningKey(algorithm);
  const id = newId('signingKey');
  const key = em.create(SigningKey, {
    id,
    environmentId,
    kid: generated.kid,
    algorithm,
    publicJwk: generated.publicJwk as Record<string, unknown>,
    privateSealed: sealPrivateKey(box, id, generated.privateJwk),
    activatesAt,
  });
  em.persist(key);
  return key;
}

/** Serialises key changes of one environment across processes (first key, rotation, revocation). */
async function lockKeys(em: EntityManager, environmentId: string): Promise<void> {
  await em.getConnection().execute(`select pg_advisory_xact_lock(hashtext(?))`, [`signing_key:${environmentId}`], 'all', em.getTransactionContext());
}

/**
 * Makes sure the environment has a key that signs now, creating an ES256 key on first use.
 * Concurrent callers (any process) wait on one lock and then see the key the first one made.
 */
export async function ensureSigningKey(em: EntityManager, box: SecretBox, environmentId: string): Promise<void> {
  await em.transactional(async (tx) => {
    await lockKeys(tx, environmentId);
    const now = new Date();
    const keys = await tx.find(SigningKey, { environmentId, revokedAt: null });
    if (currentSigner(keys, now)) return;
    await newKey(tx, box, environmentId, 'ES256', now);
  });
}

export async function listSigningKeys(ctx: ServiceContext, environmentId: string | null | undefined): Promise<SigningKey[]> {
  requireScope(ctx.principal, 'oauth:read');
  const env = environmentFor(ctx, environmentId);
  return ctx.em.find(SigningKey, { environmentId: env }, { orderBy: { activatesAt: 'DESC', id: 'DESC' } });
}

export async function getSigningKey(ctx: ServiceContext, id: string): Promise<SigningKey> {
  requireScope(ctx.principal, 'oauth:read');
  return findScoped(ctx, SigningKey, 'signing_key', id);
}

/** How many keys (other than expired and revoked ones) an environment may hold. */
const MAX_LIVE_KEYS = 5;

/**
 * Publishes a new key that starts signing after `activateAfterSeconds`; the current signer
 * stops then and stays published until its tokens have expired.
 */
export async function rotateSigningKey(
  ctx: ServiceContext,
  box: SecretBox,
  input: { environmentId?: string | null; algorithm?: SigningAlgorithm | null; activateAfterSeconds?: number | null },
): Promise<SigningKey> {
  requireScope(ctx.principal, 'oauth:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const algorithm = input.algorithm ?? 'ES256';
  if (!SIGNING_ALGORITHMS.includes(algorithm)) throw invalid('signing_key.algorithm', 'Unsupported algorithm', ['input', 'algorithm']);
  const delay = input.activateAfterSeconds ?? DEFAULT_ACTIVATION_DELAY_SECONDS;
  if (!Number.isInteger(delay) || delay < 0 || delay > 30 * 86_400) {
    throw invalid('signing_key.activation_delay', 'activateAfterSeconds must be between 0 and 2592000', ['input', 'activateAfterSeconds']);
  }
  return inTransaction(ctx, async (em) => {
    await lockKeys(em, environmentId);
    const now = new Date();
    const keys = await em.find(SigningKey, { environmentId, revokedAt: null });
    if (keys.some((key) => key.activatesAt > now)) {
      throw invalid('signing_key.rotation_pending', 'A rotated key is already waiting to activate; revoke it or wait', ['input', 'environmentId']);
    }
    if (keys.filter((key) => isPublished(key, now)).length >= MAX_LIVE_KEYS) {
      throw invalid('signing_key.too_many', `At most ${MAX_LIVE_KEYS} keys may be published at once`, ['input', 'environmentId']);
    }
    const activatesAt = new Date(now.getTime() + delay * 1000);
    const previous = currentSigner(keys, now);
    const key = await newKey(em, box, environmentId, algorithm, activatesAt);
    if (previous) previous.supersededAt = activatesAt;
    audit(ctx, em, {
      action: 'signing_key.rotated',
      environmentId,
      targets: [keyTarget(key), ...(previous ? [keyTarget(previous)] : [])],
      before: previous ? snapshotKey(previous) : null,
      after: snapshotKey(key),
    });
    return key;
  });
}

/**
 * Emergency revocation: the key leaves the JWKS at once and its tokens stop introspecting as
 * active. When it was signing, a waiting key takes over now, or a new one is made.
 */
export async function revokeSigningKey(ctx: ServiceContext, box: SecretBox, input: { id: string }): Promise<SigningKey> {
  requireScope(ctx.principal, 'oauth:write');
  return inTransaction(ctx, async (em) => {
    const scoped = await findScoped({ ...ctx, em }, SigningKey, 'signing_key', input.id);
    await lockKeys(em, scoped.environmentId);
    const key = await lockScoped(em, ctx, SigningKey, 'signing_key', input.id);
    if (key.revokedAt) throw invalid('signing_key.already_revoked', 'This key is already revoked', ['input', 'id']);
    const now = new Date();
    const keys = await em.find(SigningKey, { environmentId: key.environmentId, revokedAt: null });
    const wasSigning = currentSigner(keys, now)?.id === key.id;
    key.revokedAt = now;
    const targets = [keyTarget(key)];
    if (key.activatesAt > now) {
      // A waiting key withdrawn: the current signer keeps signing.
      const signer = currentSigner(keys, now);
      if (signer && signer.supersededAt && signer.supersededAt > now) signer.supersededAt = null;
    } else if (wasSigning) {
      key.supersededAt = now;
      const waiting = keys.filter((other) => other.id !== key.id && other.activatesAt > now).sort((a, b) => +a.activatesAt - +b.activatesAt)[0];
      const successor = waiting ?? (await newKey(em, box, key.environmentId, key.algorithm, now));
      successor.activatesAt = now;
      targets.push(keyTarget(successor));
    }
    audit(ctx, em, { action: 'signing_key.revoked', environmentId: key.environmentId, targets, before: null, after: snapshotKey(key) });
    return key;
  });
}
