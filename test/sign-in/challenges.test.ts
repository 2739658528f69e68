import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/at-rest.js';
import { EXPIRED_CHALLENGE_KEEP_MS, pruneSignInChallenges } from '../../src/http/oauth/housekeeping.js';
import { scopedFork, systemFork, tenantScope } from '../../src/db/tenant-scope.js';
import { SignInChallenge } from '../../src/modules/sign-in/challenge.entity.js';
import {
  CHALLENGE_LIMITS,
  CHALLENGE_TTL_MS,
  issueChallenge,
  MAX_CODE_ATTEMPTS,
  redeemLink,
  verifyCode,
  WRONG_CODE_LIMITS,
} from '../../src/modules/sign-in/challenge.service.js';
import { startServer, TEST_MASTER_KEY, type TestServer, type TestWorkspace } from '../helpers/server.js';

let server: TestServer;
let ws: TestWorkspace;
let other: TestWorkspace;
const box = new SecretBox(TEST_MASTER_KEY);

/** An EntityManager scoped to one environment, as the hosted pages of its issuer will have. */
const emOf = (workspace: TestWorkspace, environmentId = workspace.development.id): EntityManager =>
  scopedFork(server.database.db.orm, tenantScope(workspace.workspace.id, [environmentId]));
const inTx = <T>(workspace: TestWorkspace, work: (em: EntityManager) => Promise<T>) => emOf(workspace).transactional(work);

let ipCounter = 0;
/** A fresh client address per test, so the per-address limit is only met where a test means to. */
const freshIp = () => `198.51.100.${++ipCounter}`;

const issue = (email: string, ip = freshIp(), workspace = ws) =>
  inTx(workspace, (em) => issueChallenge(em, box, { environmentId: workspace.development.id, email, ip }));

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Sign-in');
  other = await server.workspace('Other tenant');
});
afterAll(() => server.close());

describe('passwordless sign-in challenges', () => {
  it('mail a 6-digit code and a 256-bit link, keeping neither in the clear', async () => {
    const { challenge, code, linkToken } = await issue('Ada@Example.com');
    expect(code).toMatch(/^\d{6}$/);
    expect(linkToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenge.id).toMatch(/^sic_/);
    const stored = await systemFork(server.database.db.orm, 'test: reads the stored challenge').findOneOrFail(SignInChallenge, challenge.id);
    expect(stored.email).toBe('ada@example.com');
    expect(stored.codeSealed).not.toContain(code);
    expect(stored.linkTokenHash).toBe(createHash('sha256').update(linkToken).digest('hex'));
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBe(CHALLENGE_TTL_MS);
  });

  it('accept the right code once', async () => {
    const { challenge, code, linkToken } = await issue('once@example.com');
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, ` ${code} `))).toMatchObject({ ok: true, challenge: { email: 'once@example.com' } });
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'used' });
    expect(await inTx(ws, (em) => redeemLink(em, linkToken))).toEqual({ ok: false, reason: 'used' });
  });

  it('die after five wrong codes, the right one included after that', async () => {
    const { challenge, code } = await issue('guess@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 1; i < MAX_CODE_ATTEMPTS; i += 1) {
      expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, wrong))).toEqual({ ok: false, reason: 'wrong_code' });
    }
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, wrong))).toEqual({ ok: false, reason: 'too_many_attempts' });
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'too_many_attempts' });
    for (const junk of ['', '12345', '1234567', 'abcdef', `${code}0`]) {
      expect((await inTx(ws, (em) => verifyCode(em, box, challenge.id, junk))).ok).toBe(false);
    }
  });

  it('count concurrent guesses exactly (a row lock orders them)', async () => {
    const { challenge, code } = await issue('race@example.com');
    const guesses = Array.from({ length: 12 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const outcomes = await Promise.all(guesses.map((guess) => inTx(ws, (em) => verifyCode(em, box, challenge.id, guess))));
    expect(outcomes.every((outcome) => !outcome.ok)).toBe(true);
    const stored = await systemFork(server.database.db.orm, 'test: reads the attempt count').findOneOrFail(SignInChallenge, challenge.id, { refresh: true });
    expect(stored.attempts).toBe(MAX_CODE_ATTEMPTS);
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'too_many_attempts' });
  });

  it('expire after ten minutes, code and link alike', async () => {
    const { challenge, code, linkToken } = await issue('late@example.com');
    const later = new Date(challenge.expiresAt.getTime() + 1);
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, code, later))).toEqual({ ok: false, reason: 'expired' });
    expect(await inTx(ws, (em) => redeemLink(em, linkToken, later))).toEqual({ ok: false, reason: 'expired' });
  });

  it('redeem a magic link once, and nothing for a made-up token', async () => {
    const { linkToken, code, challenge } = await issue('link@example.com');
    expect(await inTx(ws, (em) => redeemLink(em, linkToken))).toMatchObject({ ok: true, challenge: { id: challenge.id } });
    expect(await inTx(ws, (em) => redeemLink(em, linkToken))).toEqual({ ok: false, reason: 'used' });
    expect(await inTx(ws, (em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'used' });
    for (const token of ['', 'x', linkToken.slice(0, -1) + (linkToken.endsWith('A') ? 'B' : 'A'), 'y'.repeat(500)]) {
      expect(await inTx(ws, (em) => redeemLink(em, token))).toEqual({ ok: false, reason: 'unknown' });
    }
  });

  it('are another environment’s to use only: a code or link of one tenant means nothing in another', async () => {
    const { challenge, code, linkToken } = await issue('tenant@example.com');
    expect(await inTx(other, (em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'unknown' });
    expect(await inTx(other, (em) => redeemLink(em, linkToken))).toEqual({ ok: false, reason: 'unknown' });
    // Nor in the same workspace's production environment.
    const production = (work: (em: EntityManager) => Promise<unknown>) => emOf(ws, ws.production.id).transactional(work);
    expect(await production((em) => verifyCode(em, box, challenge.id, code))).toEqual({ ok: false, reason: 'unknown' });
    // And still good where it belongs.
    expect((await inTx(ws, (em) => verifyCode(em, box, challenge.id, code))).ok).toBe(true);
  });

  it('are limited per address and client IP, per address, and per client IP', async () => {
    const ip = freshIp();
    for (let i = 0; i < CHALLENGE_LIMITS.perEmailFromIp; i += 1) await issue('limited@example.com', ip);
    await expect(issue('limited@example.com', ip)).rejects.toMatchObject({ kind: 'RATE_LIMITED', code: 'sign_in.too_many_codes' });
    // One client asking in a person's name does not lock the person out…
    expect((await issue('limited@example.com', freshIp())).code).toMatch(/^\d{6}$/);
    // …but many together are bounded: no more than perEmail codes for one address.
    for (let i = CHALLENGE_LIMITS.perEmailFromIp + 1; i < CHALLENGE_LIMITS.perEmail; i += 1) await issue('limited@example.com', freshIp());
    await expect(issue('limited@example.com', freshIp())).rejects.toMatchObject({ code: 'sign_in.too_many_codes' });
    // Another address from the same IP is still served, up to the per-IP limit.
    const busy = freshIp();
    for (let i = 0; i < CHALLENGE_LIMITS.perIp; i += 1) await issue(`user${i}@example.com`, busy);
    await expect(issue('one-more@example.com', busy)).rejects.toMatchObject({ code: 'sign_in.too_many_codes' });
    // Limits are per environment: the other tenant's users are not locked out.
    expect((await issue('limited@example.com', freshIp(), other)).code).toMatch(/^\d{6}$/);
  });

  it('stop being sent after too many wrong codes: to the guessing client first, then to everyone', async () => {
    const email = 'guessed-at@example.com';
    const guessWrong = async (ip: string) => {
      const { challenge, code } = await issue(email, ip);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let guess = 0; guess < MAX_CODE_ATTEMPTS; guess += 1) await inTx(ws, (em) => verifyCode(em, box, challenge.id, wrong));
    };
    const guesser = freshIp();
    for (let typed = 0; typed < WRONG_CODE_LIMITS.perEmailFromIp; typed += MAX_CODE_ATTEMPTS) await guessWrong(guesser);
    await expect(issue(email, guesser)).rejects.toMatchObject({ kind: 'RATE_LIMITED', code: 'sign_in.too_many_wrong_codes' });
    // The person, from their own address, still gets a code and signs in with it.
    const own = await issue(email, freshIp());
    expect((await inTx(ws, (em) => verifyCode(em, box, own.challenge.id, own.code))).ok).toBe(true);
    // Guessing from many addresses ends for everyone at perEmail wrong codes a day.
    for (let typed = WRONG_CODE_LIMITS.perEmailFromIp; typed < WRONG_CODE_LIMITS.perEmail; typed += MAX_CODE_ATTEMPTS) await guessWrong(freshIp());
    await expect(issue(email, freshIp())).rejects.toMatchObject({ code: 'sign_in.too_many_wrong_codes' });
  });

  it('are forgotten a day after they expire', async () => {
    const { challenge } = await issue('old@example.com');
    const fresh = await issue('fresh@example.com');
    const store = systemFork(server.database.db.orm, 'test: ages a challenge');
    await store.nativeUpdate(SignInChallenge, { id: challenge.id }, { expiresAt: new Date(Date.now() - EXPIRED_CHALLENGE_KEEP_MS - 1000) });
    expect(await pruneSignInChallenges(server.database.db.orm)).toBe(1);
    const left = await store.find(SignInChallenge, { id: { $in: [challenge.id, fresh.challenge.id] } });
    expect(left.map((row) => row.id)).toEqual([fresh.challenge.id]);
  });

  it('hold their limits under concurrent requests for one address', async () => {
    const ip = freshIp();
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => issue('burst@example.com', ip)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(CHALLENGE_LIMITS.perEmailFromIp);
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(refused.map((outcome) => (outcome.reason as { code?: string }).code)).toEqual(Array(12 - CHALLENGE_LIMITS.perEmailFromIp).fill('sign_in.too_many_codes'));
  });

  it('refuse to be issued outside a transaction, where their limits could not hold', async () => {
    await expect(issueChallenge(emOf(ws), box, { environmentId: ws.development.id, email: 'tx@example.com', ip: freshIp() })).rejects.toThrow(/transaction/);
  });

  it('refuse an address that is not one', async () => {
    await expect(issue('not an address')).rejects.toMatchObject({ kind: 'BAD_USER_INPUT' });
  });
});
