import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { randomToken } from '../../crypto/secrets.js';

const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * What ties the hosted pages to one browser: a random browser id in a cookie, flows bound to
 * it, CSRF tokens derived from it, and the session cookie of each environment. Cookies are
 * HttpOnly and SameSite=Lax; behind https they are Secure with the `__Host-` prefix (host-only,
 * path /, so no subdomain can plant one). Over plain http (local development) browsers refuse
 * Secure cookies, so the prefix is dropped there.
 */
export class BrowserBinding {
  private readonly csrfKey: Buffer;

  constructor(
    masterKey: Buffer,
    private readonly publicUrl: () => string,
  ) {
    // A key of its own, derived from the master key: a CSRF token reveals nothing about any other secret.
    this.csrfKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse hosted pages csrf', 32));
  }

  get secure(): boolean {
    return this.publicUrl().startsWith('https://');
  }

  private get prefix(): string {
    return this.secure ? '__Host-' : '';
  }

  get browserCookie(): string {
    return `${this.prefix}gh_browser`;
  }

  sessionCookie(environmentId: string): string {
    return `${this.prefix}gh_session_${environmentId}`;
  }

  private options(maxAge?: number) {
    return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: this.secure, ...(maxAge !== undefined ? { maxAge } : {}) };
  }

  /** The browser's id; a new one is set when it has none (or a malformed one). */
  browserId(request: FastifyRequest, reply: FastifyReply): string {
    const existing = this.existingBrowserId(request);
    if (existing) return existing;
    const id = randomToken();
    reply.setCookie(this.browserCookie, id, this.options(400 * 86_400));
    return id;
  }

  existingBrowserId(request: FastifyRequest): string | undefined {
    const value = request.cookies[this.browserCookie];
    return value && BROWSER_ID.test(value) ? value : undefined;
  }

  sessionToken(request: FastifyRequest, environmentId: string): string | undefined {
    return request.cookies[this.sessionCookie(environmentId)];
  }

  setSession(reply: FastifyReply, environmentId: string, token: string, maxAgeSeconds: number): void {
    reply.setCookie(this.sessionCookie(environmentId), token, this.options(maxAgeSeconds));
  }

  clearSession(reply: FastifyReply, environmentId: string): void {
    reply.clearCookie(this.sessionCookie(environmentId), this.options());
  }

  /** The CSRF token of a browser's forms: an HMAC of its id (stateless, and useless in another browser). */
  csrfToken(browserId: string): string {
    return createHmac('sha256', this.csrfKey).update(browserId).digest('base64url');
  }

  checkCsrf(browserId: string | undefined, presented: string | undefined): boolean {
    if (!browserId || !presented) return false;
    const expected = Buffer.from(this.csrfToken(browserId));
    const given = Buffer.from(presented);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
