/**
 * The service provider's side of a connection, derived from the environment's issuer and the
 * connection's id (never stored: a new public URL changes them all at once).
 */
export function samlServiceProvider(issuer: string, connectionId: string): { spEntityId: string; acsUrl: string; spMetadataUrl: string } {
  const spEntityId = `${issuer}/sso/saml/${connectionId}`;
  return { spEntityId, acsUrl: `${spEntityId}/acs`, spMetadataUrl: `${spEntityId}/metadata` };
}

/** The one redirect URI of the environment's OIDC connections: the pending request names the connection. */
export const oidcRedirectUri = (issuer: string): string => `${issuer}/sso/oidc/callback`;

/** The one callback of an environment's social connections: registered with Google, GitHub, … as the redirect URI. */
export const socialRedirectUri = (issuer: string): string => `${issuer}/social/callback`;
