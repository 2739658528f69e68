import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCleanText } from '../../modules/text.js';
import { brand, sendPage, type Brand } from './render.js';

/** Thrown for a request the pages answer with their error page (pages.plugin.ts renders it). */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly text: string,
  ) {
    super(reason);
  }
}

/** A form's fields (or a query's parameters): every value of every name, as received. */
export type Fields = Map<string, string[]>;

/** A page's answer that is not a page: the browser goes on to `location`. */
export const seeOther = (reply: FastifyReply, location: string) => reply.code(303).header('cache-control', 'no-store').header('location', location).send();

/** One value of a form field; undefined when missing or repeated. */
export function field(fields: Fields | undefined, name: string): string | undefined {
  const values = fields?.get(name);
  return values?.length === 1 ? values[0] : undefined;
}

/** The query string of a GET as raw parameters (every value of every name, as received). */
export function queryParameters(request: FastifyRequest): Fields {
  const params: Fields = new Map();
  const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  for (const [name, value] of new URLSearchParams(search)) {
    // What reaches the database and the audit trail is well-formed text, as in form bodies.
    if (!isCleanText(name) || !isCleanText(value)) throw new PageError(400, 'malformed_query', 'The address holds text that is not well-formed.');
    if (value === '') continue;
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

/**
 * A cross-site form POST arrives without the browser's SameSite=Lax cookies, so the session
 * would look absent (an RP posting to logout would sign nobody out; one posting to authorize
 * would lose single sign-on). Answered once by a redirect to the same URL as a GET, a top-level
 * navigation that carries them. Null when the request has the cookie, or is no POST.
 */
export function refetchWithCookies(request: FastifyRequest, reply: FastifyReply, hasBrowserCookie: boolean, fields: Fields): FastifyReply | null {
  if (request.method !== 'POST' || hasBrowserCookie) return null;
  const query = new URLSearchParams();
  for (const [name, values] of fields) for (const value of values) query.append(name, value);
  return seeOther(reply, `${request.url.split('?')[0]}?${query}`);
}

/** A page that only says something: an error or an outcome, with a reason code and the request id. */
export const message = (reply: FastifyReply, request: FastifyRequest, env: Brand | null, status: number, title: string, text: string, reason: string | null) =>
  sendPage(reply, 'message', { title, ...brand(env), message: text, reason, requestId: request.id }, { status });
