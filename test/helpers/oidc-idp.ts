import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person at the upstream provider: `sub` and the claims it releases. */
export interface UpstreamAccount {
  sub: string;
  claims: Record<string, unknown>;
}

export interface UpstreamClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
}

/**
 * `oidc-provider` as an organization's OpenID Provider (an Okta or Entra ID stand-in), in this
 * process on a loopback port. Its login page is replaced by a decision the test sets
 * (`next`): sign in as an account, or refuse with an OAuth error. Consent is implied for the
 * test's clients, as an organization's IdP does for its own apps.
 */
export class UpstreamIdp {
  readonly issuer: string;
  /** What the next interaction decides. */
  next: { account: UpstreamAccount } | { error: string; description?: string } = { error: 'login_required' };
  /** The authorization requests it received (their query), newest last. */
  readonly authorizations: URLSearchParams[] = [];
  private readonly accounts = new Map<string, UpstreamAccount>();

  private constructor(
    private readonly server: http.Server,
    readonly provider: Provider,
    issuer: string,
  ) {
    this.issuer = issuer;
  }

  static async start(clients: UpstreamClient[]): Promise<UpstreamIdp> {
    let idp: UpstreamIdp | undefined;
    const server = http.createServer((request, response) => void idp!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: clients.map((client) => ({ grant_types: ['authorization_code'], response_types: ['code'], ...client })),
      cookies: { keys: ['upstream-idp-test-cookie-key-0123456789'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      ttl: { AccessToken: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60 },
      findAccount: async (_ctx, sub) => {
        const account = idp!.accounts.get(sub);
        return account ? { accountId: sub, claims: async () => ({ ...account.claims, sub }) } : undefined;
      },
      // The organization's own IdP does not ask its people to consent to their own app.
      loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
        grant.addOIDCScope('openid email profile groups');
        grant.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name', 'groups']);
        await grant.save();
        return grant;
      },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    });
    provider.on('server_error', (_ctx, error) => console.error('upstream IdP server_error:', error));
    idp = new UpstreamIdp(server, provider, issuer);
    return idp;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(request.url!, this.issuer);
      if (url.pathname === '/auth') this.authorizations.push(url.searchParams);
      if (!url.pathname.startsWith('/interaction/')) return this.provider.callback()(request, response);
      await this.provider.interactionDetails(request, response);
      const decision = this.next;
      if ('account' in decision) {
        this.accounts.set(decision.account.sub, decision.account);
        await this.provider.interactionFinished(request, response, { login: { accountId: decision.account.sub } }, { mergeWithLastSubmission: false });
      } else {
        await this.provider.interactionFinished(request, response, { error: decision.error, error_description: decision.description }, { mergeWithLastSubmission: false });
      }
    } catch (error) {
      response.statusCode = 500;
      response.end(String(error));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
