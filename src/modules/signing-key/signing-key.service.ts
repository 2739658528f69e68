import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { requireScope } from '../../auth/principal.js';
import type { SecretBox } from '../../crypto/at-rest.js';
import { generateSigningKey, sealPrivateKey, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../../crypto/signing-keys.js';
import { newId } from '../../db/id.js';
import { systemFork } from '../../db/tenant-scope.js';
import { invalid } from '../../errors/app-error.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import type { SigningKey } from './signing-key.entity.js';
import { SigningKeyRepository } from './signing-key.repository.js';

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
  return new SigningKeyRepository(em).create({
    id,
    environmentId,
    kid: generated.kid,
    algorithm,
    publicJwk: generated.publicJwk as Record<string, unknown>,
    privateSealed: sealPrivateKey(box, id, generated.privateJwk),
    activatesAt,
  });
}

/**
 * The first key of a new environment (ES256, signing at once), in the transaction that creates
 * the environment: nobody else can know the environment yet, so no lock is needed. The token
 * path then only reads keys.
 */
export function createFirstSigningKey(em: EntityManager, box: SecretBox, environmentId: string): Promise<SigningKey> {
  return newKey(em, box, environmentId, 'ES256', new Date());
}

/**
 * Makes sure the environment has a key that signs now, creating an ES256 key when it has none.
 * Concurrent callers (any process) wait on one lock and then see the key the first one made.
 * Returns whether it created one.
 */
export async function ensureSigningKey(em: EntityManager, box: SecretBox, environmentId: string): Promise<boolean> {
  return em.transactional(async (tx) => {
    const keys = new SigningKeyRepository(tx);
    await keys.lockEnvironmentKeys(environmentId);
    const now = new Date();
    if (currentSigner(await keys.unrevokedOf(environmentId, { refresh: true }), now)) return false;
    await newKey(tx, box, environmentId, 'ES256', now);
    return true;
  });
}

/**
 * Gives every environment without a key that signs now one that does: environments created
 * before keys were made with them, or by a path without the master key. A system job, for
 * startup; safe to run in several processes at once. Returns the environments it keyed.
 */
export async function ensureSigningKeys(orm: MikroORM, box: SecretBox): Promise<string[]> {
  const em = systemFork(orm, 'startup: a signing key for every environment that lacks one');
  const keyed: string[] = [];
  for (const environmentId of await new SigningKeyRepository(em).environmentsWithoutSigner(new Date())) {
    if (await ensureSigningKey(em.fork(), box, environmentId)) keyed.push(environmentId);
  }
  return keyed;
}

export async function listSigningKeys(ctx: ServiceContext, environmentId: string | null | undefined): Promise<SigningKey[]> {
  requireScope(ctx.principal, 'oauth:read');
  const env = environmentFor(ctx, environmentId);
  return new SigningKeyRepository(ctx.em).listOf(env);
}

export async function getSigningKey(ctx: ServiceContext, id: string): Promise<SigningKey> {
  requireScope(ctx.principal, 'oauth:read');
  return new SigningKeyRepository(ctx.em).get(id);
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
    const repository = new SigningKeyRepository(em);
    await repository.lockEnvironmentKeys(environmentId);
    const now = new Date();
    const keys = await repository.unrevokedOf(environmentId);
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
    const repository = new SigningKeyRepository(em);
    const scoped = await repository.get(input.id);
    await repository.lockEnvironmentKeys(scoped.environmentId);
    const key = await repository.lock(input.id);
    if (key.revokedAt) throw invalid('signing_key.already_revoked', 'This key is already revoked', ['input', 'id']);
    const now = new Date();
    const keys = await repository.unrevokedOf(key.environmentId);
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
