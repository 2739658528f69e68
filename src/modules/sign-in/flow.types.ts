/** What an application asked for at the authorization endpoint, once checked: what sign-in works from. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string | null;
  nonce: string | null;
  scopes: string[];
  codeChallenge: string;
  prompt: ('none' | 'login' | 'consent')[];
  maxAge: number | null;
  loginHint: string | null;
  organizationId: string | null;
  connectionId: string | null;
  domainHint: string | null;
  resources: string[];
}

/** Scopes of OpenID Connect itself: granted by the person, not by an API. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
