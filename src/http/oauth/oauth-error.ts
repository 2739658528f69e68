import type { FastifyReply } from 'fastify';

/** RFC 6749 §5.2 error codes, with RFC 6750, 7591, 7662, 8693, 8707 and OpenID Connect additions. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'access_denied'
  | 'unsupported_token_type'
  | 'unsupported_response_type'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'insufficient_scope'
  | 'server_error'
  | 'temporarily_unavailable';

const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  access_denied: 403,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** The one error type of the OAuth endpoints; `sendOAuthError` is its only serializer. */
export class OAuthError extends Error {
  readonly status: number;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(description);
    this.status = options.status ?? STATUS[error] ?? 400;
    this.headers = options.headers ?? {};
  }

  readonly headers: Record<string, string>;
}

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);

export function sendOAuthError(reply: FastifyReply, error: OAuthError, requestId: string): FastifyReply {
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache', ...error.headers };
  if (error.status === 401 && !headers['www-authenticate']) {
    headers['www-authenticate'] =
      error.error === 'invalid_token'
        ? `Bearer error="invalid_token", error_description="${error.description.replace(/"/g, "'")}"`
        : 'Basic realm="gatehouse"';
  }
  return reply
    .code(error.status)
    .headers(headers)
    .send({ error: error.error, error_description: error.description, request_id: requestId });
}
