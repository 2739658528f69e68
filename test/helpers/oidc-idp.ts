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
 * `oidc-provider` as an organization's OpenID Provider (an Okta or Entra ID stand-in), or as a
 * social provider (Google, Microsoft, GitLab), in this process on a loopback port. Its login
 * page is replaced by a decision the test sets (`next`): sign in as an account, or refuse with
 * an OAuth error. Consent is implied for the test's clients, as an organization's IdP does for
 * its own apps.
 *
 * It also stands in for GitHub: plain OAuth 2.0 (scopes `read:user user:email`, no ID token)
 * and GitHub's user API under `/api` (`GET /api/user`, `GET /api/user/emails`, answered as
 * GitHub documents them from the account's `github_user` and `github_emails` claims, for a
 * bearer access token the provider issued).
 */
export class UpstreamIdp {
  readonly issuer: string;
  /** What the next interaction decides. */
  next: { account: UpstreamAccount } | { error: string; description?: string } = { error: 'login_required' };
  /** Runs before the token endpoint answers (once, then cleared): something that happens while Gatehouse exchanges a code. */
  beforeToken: (() => Promise<void>) | null = null;
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
      // `tid` and `xms_edov` as Microsoft's Entra ID sends them (tenant id; email domain owner verified).
      claims: { openid: ['sub', 'tid'], email: ['email', 'email_verified', 'xms_edov'], profile: ['name', 'given_name', 'family_name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups', 'read:user', 'user:email'],
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
        grant.addOIDCScope('openid email profile groups read:user user:email');
        grant.addOIDCClaims(['email', 'email_verified', 'name', 'given_name', 'family_name', 'groups', 'tid', 'xms_edov']);
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
      if (url.pathname === '/token' && this.beforeToken) {
        const hook = this.beforeToken;
        this.beforeToken = null;
        await hook();
      }
      if (url.pathname.startsWith('/api/')) return await this.githubApi(url.pathname, request, response);
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

  /** GitHub's user API, for the account an access token of this provider belongs to. */
  private async githubApi(path: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const found = token ? await this.provider.AccessToken.find(token) : undefined;
    const account = found ? this.accounts.get(found.accountId) : undefined;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    if (!account || !found?.scopes.has('read:user')) return send(401, { message: 'Requires authentication' });
    this.apiCalls.push({ path, userAgent: request.headers['user-agent'] ?? '' });
    if (path === '/api/user') return send(200, account.claims.github_user ?? {});
    if (path === '/api/user/emails') return found.scopes.has('user:email') ? send(200, account.claims.github_emails ?? []) : send(404, { message: 'Not Found' });
    return send(404, { message: 'Not Found' });
  }

  /** The GitHub API calls answered, oldest first. */
  readonly apiCalls: { path: string; userAgent: string }[] = [];

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
