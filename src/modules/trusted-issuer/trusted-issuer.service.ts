import { requireScope } from '../../auth/principal.js';
import { jwksFingerprint } from '../../crypto/signing-keys.js';
import { newId } from '../../db/id.js';
import type { PageArgs } from '../../db/pagination.js';
import { invalid } from '../../errors/app-error.js';
import { checkJwks, checkJwksUri, checkResourceIdentifier } from '../oauth-client/oauth-client.validation.js';
import { audit, environmentFor, inTransaction, type ServiceContext } from '../service-context.js';
import { checkName } from '../validation.js';
import type { TrustedIssuer } from './trusted-issuer.entity.js';
import { TrustedIssuerRepository } from './trusted-issuer.repository.js';

const MAX_AUDIENCES = 20;
const MAX_AUDIENCE_LENGTH = 512;

const issuerTarget = (issuer: TrustedIssuer) => ({ type: 'trusted_issuer', id: issuer.id, name: issuer.name });
const snapshotIssuer = (issuer: TrustedIssuer) => ({
  id: issuer.id,
  name: issuer.name,
  issuer: issuer.issuer,
  jwksFingerprint: issuer.jwks ? jwksFingerprint(issuer.jwks) : null,
  jwksUri: issuer.jwksUri,
  audiences: issuer.audiences,
});

/** Audiences a subject token must carry (one of): 1–20 strings without white space, by value. */
function checkAudiences(values: string[], field: string[]): string[] {
  const unique = [...new Set(values)].sort();
  if (unique.length === 0) throw invalid('trusted_issuer.invalid_audiences', 'At least one audience is required', field);
  if (unique.length > MAX_AUDIENCES) throw invalid('trusted_issuer.invalid_audiences', `At most ${MAX_AUDIENCES} audiences`, field);
  const bad = unique.find((value) => !value || value.length > MAX_AUDIENCE_LENGTH || /\s/.test(value));
  if (bad !== undefined) {
    throw invalid('trusted_issuer.invalid_audiences', `Audiences are 1–${MAX_AUDIENCE_LENGTH} characters without white space`, field);
  }
  return unique;
}

interface KeySourceInput {
  jwks?: Record<string, unknown> | null;
  jwksUri?: string | null;
}

/** The one key source given, checked; undefined when neither is. */
async function checkKeySource(input: KeySourceInput, allowPrivateTargets: boolean) {
  if (input.jwks != null && input.jwksUri != null) throw invalid('oauth.jwks_conflict', 'Give either jwks or jwksUri, not both', ['input', 'jwksUri']);
  if (input.jwks != null) return { jwks: await checkJwks(input.jwks, ['input', 'jwks']), jwksUri: null };
  if (input.jwksUri != null) return { jwks: null, jwksUri: checkJwksUri(input.jwksUri, allowPrivateTargets, ['input', 'jwksUri']) };
  return undefined;
}

export async function getTrustedIssuer(ctx: ServiceContext, id: string): Promise<TrustedIssuer> {
  requireScope(ctx.principal, 'oauth:read');
  return new TrustedIssuerRepository(ctx.em).get(id);
}

export async function listTrustedIssuers(ctx: ServiceContext, environmentId: string | null | undefined, args: PageArgs, maxPageSize: number) {
  requireScope(ctx.principal, 'oauth:read');
  const where = { environmentId: environmentFor(ctx, environmentId) };
  return new TrustedIssuerRepository(ctx.em).page(where, args, maxPageSize);
}

export async function createTrustedIssuer(
  ctx: ServiceContext,
  input: KeySourceInput & { environmentId?: string | null; name: string; issuer: string; audiences: string[] },
  allowPrivateTargets: boolean,
): Promise<TrustedIssuer> {
  requireScope(ctx.principal, 'oauth:write');
  const environmentId = environmentFor(ctx, input.environmentId);
  const name = checkName(input.name, ['input', 'name']);
  const issuer = checkResourceIdentifier(input.issuer, ['input', 'issuer'], 'trusted_issuer.invalid_issuer');
  const audiences = checkAudiences(input.audiences, ['input', 'audiences']);
  const keys = await checkKeySource(input, allowPrivateTargets);
  if (!keys) throw invalid('trusted_issuer.keys_required', 'Give the issuer\'s keys as jwks or jwksUri', ['input', 'jwks']);
  return inTransaction(ctx, async (em) => {
    const trusted = new TrustedIssuerRepository(em).create({ id: newId('trustedIssuer'), environmentId, name, issuer, audiences, ...keys });
    audit(ctx, em, { action: 'trusted_issuer.created', environmentId, targets: [issuerTarget(trusted)], after: snapshotIssuer(trusted) });
    return trusted;
  });
}

/** Giving jwks or jwksUri replaces the key source (the other is cleared). */
export async function updateTrustedIssuer(
  ctx: ServiceContext,
  input: KeySourceInput & { id: string; name?: string | null; issuer?: string | null; audiences?: string[] | null },
  allowPrivateTargets: boolean,
): Promise<TrustedIssuer> {
  requireScope(ctx.principal, 'oauth:write');
  const name = input.name != null ? checkName(input.name, ['input', 'name']) : undefined;
  const issuer = input.issuer != null ? checkResourceIdentifier(input.issuer, ['input', 'issuer'], 'trusted_issuer.invalid_issuer') : undefined;
  const audiences = input.audiences != null ? checkAudiences(input.audiences, ['input', 'audiences']) : undefined;
  const keys = await checkKeySource(input, allowPrivateTargets);
  return inTransaction(ctx, async (em) => {
    const trusted = await new TrustedIssuerRepository(em).lock(input.id);
    const before = snapshotIssuer(trusted);
    if (name !== undefined) trusted.name = name;
    if (issuer !== undefined) trusted.issuer = issuer;
    if (audiences !== undefined) trusted.audiences = audiences;
    if (keys) Object.assign(trusted, keys);
    audit(ctx, em, {
      action: 'trusted_issuer.updated',
      environmentId: trusted.environmentId,
      targets: [issuerTarget(trusted)],
      before,
      after: snapshotIssuer(trusted),
    });
    return trusted;
  });
}

export async function deleteTrustedIssuer(ctx: ServiceContext, input: { id: string }): Promise<string> {
  requireScope(ctx.principal, 'oauth:write');
  return inTransaction(ctx, async (em) => {
    const issuers = new TrustedIssuerRepository(em);
    const trusted = await issuers.lock(input.id);
    await issuers.delete(trusted.id);
    audit(ctx, em, {
      action: 'trusted_issuer.deleted',
      environmentId: trusted.environmentId,
      targets: [issuerTarget(trusted)],
      before: snapshotIssuer(trusted),
    });
    return trusted.id;
  });
}
