import type { OAuthDeps, OAuthRequest } from '../context.js';
import type { ClientState } from '../oauth-cache.js';

/** RFC 6749 §5.1 (and RFC 8693 §2.2.1) successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'N_A';
  expires_in: number;
  scope?: string;
  issued_token_type?: string;
  refresh_token?: string;
  id_token?: string;
}

/** One grant type of the token endpoint: gets an authenticated client, returns the response. */
export type Grant = (deps: OAuthDeps, request: OAuthRequest, client: ClientState) => Promise<TokenResponse>;
