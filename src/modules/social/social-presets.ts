import { SocialProvider, type SocialConnection } from './social-connection.entity.js';

/** The consumer tenant of Microsoft accounts (outlook.com, hotmail.com): Microsoft verifies their addresses itself. */
export const MICROSOFT_CONSUMER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/**
 * How a provider is spoken to: OpenID Connect (discovery from an issuer, an ID token), or plain
 * OAuth 2.0 followed by a profile API call (GitHub, generic).
 */
export type SocialProtocol = 'oidc' | 'oauth2';

export interface SocialPreset {
  /** The button's default text. */
  label: string;
  protocol: SocialProtocol;
  issuer: string | null;
  authorizationUrl: string | null;
  tokenUrl: string | null;
  userinfoUrl: string | null;
  scopes: string[];
  /** Where the builder registers Gatehouse's redirect URI. */
  console: string;
}

export const SOCIAL_PRESETS: Record<SocialProvider, SocialPreset> = {
  [SocialProvider.GOOGLE]: {
    label: 'Google',
    protocol: 'oidc',
    issuer: 'https://accounts.google.com',
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    scopes: ['email', 'openid', 'profile'],
    console: 'Google Cloud console → APIs & Services → Credentials → OAuth client ID (Web application) → Authorized redirect URIs',
  },
  [SocialProvider.MICROSOFT]: {
    label: 'Microsoft',
    protocol: 'oidc',
    // Any work, school or personal account; a tenant's own issuer restricts it to that tenant.
    issuer: 'https://login.microsoftonline.com/common/v2.0',
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    scopes: ['email', 'openid', 'profile'],
    console: 'Microsoft Entra admin center → App registrations → Authentication → Web → Redirect URIs; Token configuration → add the optional claim xms_edov',
  },
  [SocialProvider.GITHUB]: {
    label: 'GitHub',
    protocol: 'oauth2',
    issuer: null,
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
    console: 'GitHub → Settings → Developer settings → OAuth Apps → Authorization callback URL',
  },
  [SocialProvider.GITLAB]: {
    label: 'GitLab',
    protocol: 'oidc',
    issuer: 'https://gitlab.com',
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    scopes: ['email', 'openid', 'profile'],
    console: 'GitLab → Edit profile → Applications (or the group\'s / instance\'s) → Redirect URI, scopes openid profile email',
  },
  [SocialProvider.GENERIC_OIDC]: {
    label: 'OpenID Connect',
    protocol: 'oidc',
    issuer: null,
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    scopes: ['email', 'openid', 'profile'],
    console: 'The provider\'s client registration: redirect URI, scopes openid email profile',
  },
  [SocialProvider.GENERIC_OAUTH2]: {
    label: 'OAuth 2.0',
    protocol: 'oauth2',
    issuer: null,
    authorizationUrl: null,
    tokenUrl: null,
    userinfoUrl: null,
    scopes: [],
    console: 'The provider\'s client registration: redirect URI',
  },
};

/** A connection's endpoints and scopes: its own where it has them, else its preset's. */
export function effectiveSettings(connection: SocialConnection) {
  const preset = SOCIAL_PRESETS[connection.provider];
  return {
    protocol: preset.protocol,
    issuer: connection.issuer ?? preset.issuer,
    authorizationUrl: connection.authorizationUrl ?? preset.authorizationUrl,
    tokenUrl: connection.tokenUrl ?? preset.tokenUrl,
    userinfoUrl: connection.userinfoUrl ?? preset.userinfoUrl,
    scopes: connection.scopes.length ? connection.scopes : preset.scopes,
  };
}

/** What a connection still needs before it can sign anyone in; null when complete. */
export function missingSetting(connection: SocialConnection): string | null {
  const settings = effectiveSettings(connection);
  if (settings.protocol === 'oidc') return settings.issuer ? null : 'the issuer';
  if (!settings.authorizationUrl) return 'the authorization URL';
  if (!settings.tokenUrl) return 'the token URL';
  if (!settings.userinfoUrl) return 'the userinfo URL';
  return null;
}
