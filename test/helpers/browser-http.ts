import { expect } from 'vitest';

/**
 * A browser reduced to what the hosted pages need over HTTP: a cookie jar, redirects followed
 * by hand (so a test sees where each one leads), and forms read from the HTML and posted back.
 * The real browser (Chromium) tests the same pages in test/sign-in/browser.test.ts.
 */
export class HttpBrowser {
  private readonly cookies = new Map<string, string>();
  /** The last page's HTML. */
  html = '';
  status = 0;
  url = '';

  constructor(private readonly origin: string) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** Puts a cookie in the jar (a second process behind the same load balancer sees the same browser). */
  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  /** A copy of this browser's cookies in another browser (an attacker who stole them, or a second tab). */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** One request, no redirect followed; returns the response (body read into `html`). */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const absolute = new URL(url, this.origin).toString();
    const response = await fetch(absolute, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...init.headers,
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    this.remember(response);
    this.status = response.status;
    this.url = absolute;
    this.html = await response.text();
    return response;
  }

  /**
   * Follows redirects within our origin until a page, or a redirect that leaves it (the
   * application's redirect URI), which is returned without being fetched.
   */
  async go(url: string, init: { form?: Record<string, string> } = {}): Promise<{ page: string } | { redirect: URL }> {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10; hops += 1) {
      if (response.status < 300 || response.status >= 400) return { page: this.html };
      const location = new URL(response.headers.get('location')!, this.url);
      if (location.origin !== new URL(this.origin).origin) return { redirect: location };
      response = await this.request(location.toString());
    }
    throw new Error('too many redirects');
  }

  /** The fields of the page's form (the first one whose action ends with `actionSuffix`). */
  form(actionSuffix: string): { action: string; fields: Record<string, string> } {
    const forms = [...this.html.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)];
    const found = forms.find((match) => decode(match[1]).endsWith(actionSuffix));
    expect(found, `a form posting to …${actionSuffix} on ${this.url}: ${this.html.slice(0, 400)}`).toBeTruthy();
    const fields: Record<string, string> = {};
    for (const input of found![2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[decode(input[1])] = decode(input[2]);
    return { action: decode(found![1]), fields };
  }

  /** Posts the page's form with `values` added. */
  submit(actionSuffix: string, values: Record<string, string> = {}) {
    const { action, fields } = this.form(actionSuffix);
    return this.go(action, { form: { ...fields, ...values } });
  }
}

function decode(html: string): string {
  return html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
