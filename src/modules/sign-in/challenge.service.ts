import type { EntityManager } from '@mikro-orm/core';
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../../crypto/at-rest.js';
import { hashSecret, randomToken } from '../../crypto/secrets.js';
import { newInternalId } from '../../db/id.js';
import { AppError } from '../../errors/app-error.js';
import { checkEmail } from '../validation.js';
import type { SignInChallenge } from './challenge.entity.js';
import { SignInChallengeRepository } from './challenge.repository.js';

/** How long a code and its link work. */
export const CHALLENGE_TTL_MS = 10 * 60 * 1000;
/** Wrong codes after which a challenge is dead, however much time it has left. */
export const MAX_CODE_ATTEMPTS = 5;
/** Codes sent to one address, and asked from one client address, per environment and window. */
/**
 * Codes sent per 15 minutes. A person is limited per client address (`perEmailFromIp`), so that
 * one client asking for codes in their name cannot lock them out; `perEmail` bounds what many
 * addresses together can make the server mail them; `perIp` what one client can send anyone.
 */
export const CHALLENGE_LIMITS = { windowMs: 15 * 60 * 1000, perEmailFromIp: 5, perEmail: 20, perIp: 30 };
/**
 * Wrong codes typed for one address, over all its codes, per day: past these no new code is
 * sent (to that client, or at all). `perEmail` bounds guessing: without it, many client
 * addresses could keep asking for codes and guess each five times, ~2,400 guesses a day at a
 * million codes; with it, 50 (a 1 in 20,000 chance a day). `perEmailFromIp` keeps one client's
 * guessing from locking the person out: that takes five addresses.
 */
export const WRONG_CODE_LIMITS = { windowMs: 24 * 60 * 60 * 1000, perEmailFromIp: 10, perEmail: 50 };

export interface IssuedChallenge {
  challenge: SignInChallenge;
  /** The 6-digit code, to mail; not kept in the clear. */
  code: string;
  /** The magic link's token, to mail; only its hash is kept. */
  linkToken: string;
}

/** Why a code or link was not accepted (what `user.signin_failed` records). */
export type ChallengeFailure = 'unknown' | 'wrong_code' | 'expired' | 'used' | 'too_many_attempts';

export type ChallengeOutcome = { ok: true; challenge: SignInChallenge } | { ok: false; reason: ChallengeFailure };

const associatedData = (challengeId: string) => `sign_in_challenge:${challengeId}`;

/**
 * Starts a passwordless sign-in for `email` in an environment, within the limits per address,
 * per address and client IP, and per client IP (counted in the database, so across every
 * process). Refused with
 * RATE_LIMITED `sign_in.too_many_codes` past them. The caller mails the code and link. Run it
 * in a transaction: the limits hold under concurrency by locks that last until it commits.
 */
export async function issueChallenge(
  em: EntityManager,
  box: SecretBox,
  input: { environmentId: string; email: string; ip: string; flowId?: string | null },
  now = new Date(),
): Promise<IssuedChallenge> {
  const email = checkEmail(input.email, ['email']);
  const challenges = new SignInChallengeRepository(em);
  await challenges.lockIssuing(input.environmentId, email, input.ip);
  const recent = await challenges.recent(input.environmentId, email, input.ip, new Date(now.getTime() - CHALLENGE_LIMITS.windowMs));
  if (recent.byEmailFromIp >= CHALLENGE_LIMITS.perEmailFromIp || recent.byEmail >= CHALLENGE_LIMITS.perEmail || recent.byIp >= CHALLENGE_LIMITS.perIp) {
    throw new AppError('RATE_LIMITED', 'sign_in.too_many_codes', 'Too many codes were sent; wait a few minutes and try again');
  }
  const wrong = await challenges.wrongCodesSince(input.environmentId, email, input.ip, new Date(now.getTime() - WRONG_CODE_LIMITS.windowMs));
  if (wrong.fromIp >= WRONG_CODE_LIMITS.perEmailFromIp || wrong.total >= WRONG_CODE_LIMITS.perEmail) {
    throw new AppError('RATE_LIMITED', 'sign_in.too_many_wrong_codes', 'Too many wrong codes were typed for this address; try again tomorrow');
  }
  const id = newInternalId('signInChallenge');
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const linkToken = randomToken();
  const challenge = challenges.create({
    id,
    environmentId: input.environmentId,
    email,
    codeSealed: box.seal(code, associatedData(id)),
    linkTokenHash: hashSecret(linkToken),
    createdAt: now,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
    requestIp: input.ip,
    flowId: input.flowId ?? null,
  });
  await em.flush();
  return { challenge, code, linkToken };
}

/** Why a live-looking challenge cannot be used any more, or null when it can. */
function deadReason(challenge: SignInChallenge, now: Date): ChallengeFailure | null {
  if (challenge.consumedAt) return 'used';
  if (challenge.attempts >= MAX_CODE_ATTEMPTS) return 'too_many_attempts';
  if (challenge.expiresAt.getTime() <= now.getTime()) return 'expired';
  return null;
}

/**
 * Checks a code typed for challenge `id`, under a row lock so concurrent guesses are counted
 * one after the other. A wrong code counts an attempt (the fifth kills the challenge); the right
 * one consumes it. Run it in a transaction: the lock and the count commit together.
 */
export async function verifyCode(
  em: EntityManager,
  box: SecretBox,
  id: string,
  presented: string,
  now = new Date(),
  /** The flow the code is typed in: a challenge of another flow is unknown here. */
  flowId?: string | null,
): Promise<ChallengeOutcome> {
  const challenge = await new SignInChallengeRepository(em).findForUpdate(id);
  if (!challenge || (flowId !== undefined && challenge.flowId !== flowId)) return { ok: false, reason: 'unknown' };
  const dead = deadReason(challenge, now);
  if (dead) return { ok: false, reason: dead };
  const code = box.open(challenge.codeSealed, associatedData(challenge.id));
  const given = Buffer.from(presented.trim().padEnd(6, ' ').slice(0, 16), 'utf8');
  const expected = Buffer.from(code.padEnd(given.length, ' '), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    challenge.attempts += 1;
    await em.flush();
    return { ok: false, reason: challenge.attempts >= MAX_CODE_ATTEMPTS ? 'too_many_attempts' : 'wrong_code' };
  }
  challenge.consumedAt = now;
  await em.flush();
  return { ok: true, challenge };
}

/** The challenge of a magic link's token, without using it (to check where it may be used first). */
export async function challengeOfLink(em: EntityManager, token: string): Promise<SignInChallenge | null> {
  if (token.length < 40 || token.length > 64) return null;
  return new SignInChallengeRepository(em).byLink(hashSecret(token));
}

/** Redeems a magic link's token: once, before it expires, and not after its code was guessed at too often. */
export async function redeemLink(em: EntityManager, token: string, now = new Date()): Promise<ChallengeOutcome> {
  if (token.length < 40 || token.length > 64) return { ok: false, reason: 'unknown' };
  const challenge = await new SignInChallengeRepository(em).byLinkForUpdate(hashSecret(token));
  if (!challenge) return { ok: false, reason: 'unknown' };
  const dead = deadReason(challenge, now);
  if (dead) return { ok: false, reason: dead };
  challenge.consumedAt = now;
  await em.flush();
  return { ok: true, challenge };
}
