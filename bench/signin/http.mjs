// HTTP for bench/signin: node:http over a keep-alive Agent (as bench/token/load.mjs, which found
// the global fetch 4–6× more expensive for the load generator on Node 20), and a scripted
// browser for the hosted sign-in pages: a cookie jar, redirects seen one by one, and the forms
// read from the HTML and posted back (what test/helpers/browser-http.ts does for the tests).
import http from 'node:http';

export function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/**
 * One request; resolves (never rejects) with { status, headers, body } (body a string), or
 * { status: 0, error } when the connection failed.
 */
export function send(agent, url, { method = 'GET', headers = {}, body } = {}) {
  const target = typeof url === 'string' ? new URL(url) : url;
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        agent,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => resolve({ status: 0, error }));
      },
    );
    request.on('error', (error) => resolve({ status: 0, error }));
    request.end(body);
  });
}

export const FORM = 'application/x-www-form-urlencoded';

/** Thrown by a scripted step that did not get the answer the flow expects. */
export class StepError extends Error {
  constructor(step, response, expected) {
    const got = response.status ? `${response.status} ${(response.body ?? '').replace(/\s+/g, ' ').slice(0, 300)}` : String(response.error?.message ?? response.error);
    super(`${step}: expected ${expected}, got ${got}`);
    this.status = response.status || 'network error';
  }
}

function decode(html) {
  return html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * A browser reduced to what the hosted pages need: cookies, one request at a time (redirects
 * are returned, not followed), forms. `headers` go with every request (the bench's
 * X-Forwarded-For, so each browser has an address of its own). `timings` collects the time of
 * each request by the label it was sent with.
 */
export class ScriptedBrowser {
  constructor(agent, origin, headers = {}) {
    this.agent = agent;
    this.origin = origin;
    this.headers = headers;
    this.cookies = new Map();
    this.timings = {};
    this.html = '';
    this.url = '';
  }

  async request(label, url, { form, method } = {}) {
    const absolute = new URL(url, this.url || this.origin);
    const headers = { ...this.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body;
    if (form) {
      headers['content-type'] = FORM;
      body = new URLSearchParams(form).toString();
    }
    const started = performance.now();
    const response = await send(this.agent, absolute, { method: method ?? (form ? 'POST' : 'GET'), headers, body });
    this.timings[label] = (this.timings[label] ?? 0) + (performance.now() - started);
    for (const line of response.headers?.['set-cookie'] ?? []) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    this.url = absolute.toString();
    this.html = response.body ?? '';
    return response;
  }

  /** Sends a request that must answer a redirect (303/302); returns where it leads. */
  async redirect(label, url, init) {
    const response = await this.request(label, url, init);
    if (response.status !== 303 && response.status !== 302) throw new StepError(label, response, 'a redirect');
    return new URL(response.headers.location, this.url);
  }

  /** Sends a request that must answer a page (200). */
  async page(label, url, init) {
    const response = await this.request(label, url, init);
    if (response.status !== 200) throw new StepError(label, response, 'a 200 page');
    return response;
  }

  /** The action and hidden fields of the page's form posting to `…actionSuffix`. */
  form(actionSuffix) {
    for (const match of this.html.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)) {
      const action = decode(match[1]);
      if (!action.endsWith(actionSuffix)) continue;
      const fields = {};
      for (const input of match[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[decode(input[1])] = decode(input[2]);
      return { action, fields };
    }
    throw new Error(`no form posting to …${actionSuffix} on ${this.url}: ${this.html.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
}
