import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendPage } from './render.js';

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
    if (value === '') continue;
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

/** A page that only says something: an error or an outcome, with a reason code and the request id. */
export const message = (reply: FastifyReply, request: FastifyRequest, env: { name: string } | null, status: number, title: string, text: string, reason: string | null) =>
  sendPage(reply, 'message', { title, environmentName: env?.name ?? 'Gatehouse', message: text, reason, requestId: request.id }, { status });
