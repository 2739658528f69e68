import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedFetch } from '../../src/http/outbound-fetch.js';

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const status = Number(new URL(request.url!, 'http://x').searchParams.get('status'));
    response.writeHead(status, { 'content-type': 'text/plain' });
    response.end(status === 204 || status === 304 ? undefined : 'body');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the outbound fetch', () => {
  const fetcher = guardedFetch({ maxBytes: 1024, timeoutMs: 2000, allowPrivate: true });

  it('answers statuses without a body, and refuses statuses outside 200–599 as an error (never a crash)', async () => {
    for (const status of [204, 205, 304]) {
      const response = await fetcher(`${base}/?status=${status}`);
      expect(response.status).toBe(status);
      expect(await response.text()).toBe('');
    }
    expect((await fetcher(`${base}/?status=200`)).status).toBe(200);
    await expect(fetcher(`${base}/?status=600`)).rejects.toThrow(/unexpected HTTP status 600/);
  });

  it('refuses private targets unless allowed', async () => {
    await expect(guardedFetch({ maxBytes: 1024, timeoutMs: 2000, allowPrivate: false })(`${base}/?status=200`)).rejects.toThrow(/private/);
  });
});
