import { Eta } from 'eta';
import type { FastifyReply } from 'fastify';
import { fileURLToPath } from 'node:url';

const eta = new Eta({ views: fileURLToPath(new URL('./assets/templates', import.meta.url)), autoEscape: true, cache: true });

/** Origins and schemes a page's form may lead to, after the redirect that answers it (CSP form-action). */
function formTargets(redirectTargets: readonly string[]): string {
  const sources = new Set<string>(["'self'"]);
  for (const target of redirectTargets) {
    try {
      const url = new URL(target);
      sources.add(url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol);
    } catch {
      // Registered redirect URIs are valid URLs; anything else is simply not allowed.
    }
  }
  return [...sources].join(' ');
}

/**
 * The security headers of every hosted page: a CSP that allows only our own stylesheet, no
 * script at all (but our own static scripts on the few pages that ask: `scripts`), no framing
 * (clickjacking), and forms that post here (or lead, by the redirect that answers them, to the
 * application's registered redirect URI); no caching, no referrer.
 */
export function pageHeaders(reply: FastifyReply, redirectTargets: readonly string[] = [], logoUrl: string | null = null, scripts = false): FastifyReply {
  const images = logoUrl ? `'self' ${new URL(logoUrl).origin}` : "'self'";
  return reply.headers({
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; style-src 'self';${scripts ? " script-src 'self';" : ''} img-src ${images}; form-action ${formTargets(redirectTargets)}; frame-ancestors 'none'; base-uri 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
}

export interface PageData {
  title: string;
  environmentName: string;
  /** The environment's logo, an https image; its origin joins the page's img-src. */
  logoUrl?: string | null;
  [key: string]: unknown;
}

/** What a page shows of its environment. */
export interface Brand {
  name: string;
  logoUrl?: string | null;
}

export const brand = (env: Brand | null): { environmentName: string; logoUrl: string | null } => ({ environmentName: env?.name ?? 'Gatehouse', logoUrl: env?.logoUrl ?? null });

/**
 * Renders a template of assets/templates with auto-escaping and sends it as a hosted page.
 * `scripts`: the page loads a static script of /assets (never inline script); it works without.
 */
export function sendPage(
  reply: FastifyReply,
  template: string,
  data: PageData,
  options: { status?: number; redirectTargets?: readonly string[]; scripts?: boolean } = {},
): FastifyReply {
  return pageHeaders(reply, options.redirectTargets, data.logoUrl ?? null, options.scripts ?? false).code(options.status ?? 200).send(eta.render(`./${template}`, data));
}

export const STYLESHEET_PATH = fileURLToPath(new URL('./assets/gatehouse.css', import.meta.url));
