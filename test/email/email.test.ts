import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { smtpPeer, type SmtpPeer } from '../helpers/smtp.js';

const SEND = `mutation($input: SendTestEmailInput!) { sendTestEmail(input: $input) { delivery { via messageId } userErrors { code field message } } }`;
const OUTBOX = `query($env: ID) { developmentOutbox(environmentId: $env, first: 20) { totalCount nodes { id environmentId recipient subject text html purpose createdAt } } }`;
const AUDIT = `query($env: ID) { auditEvents(environmentId: $env, first: 20, filter: { actions: ["email.test_sent"] }) { nodes { action targets { id } after } } }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret userErrors { code } } }`;

describe('without an SMTP server', () => {
  let server: TestServer;
  let ws: TestWorkspace;
  beforeAll(async () => {
    server = await startServer();
    ws = await server.workspace('Mail');
  });
  afterAll(() => server.close());

  it('keeps a DEVELOPMENT environment’s messages in its outbox, readable and audited', async () => {
    const env = ws.development.id;
    const sent = (await ws.client.data(SEND, { input: { environmentId: env, to: 'Dev@Example.com' } })).sendTestEmail;
    expect(sent).toEqual({ delivery: { via: 'OUTBOX', messageId: null }, userErrors: [] });
    const outbox = (await ws.client.data(OUTBOX, { env })).developmentOutbox;
    expect(outbox.totalCount).toBe(1);
    const [message] = outbox.nodes;
    expect(message).toMatchObject({ environmentId: env, recipient: 'dev@example.com', purpose: 'test', html: null });
    expect(message.id).toMatch(/^msg_/);
    expect(message.subject).toContain('Gatehouse test message');
    const node = await ws.client.data(`query($id: ID!) { node(id: $id) { __typename ... on OutboxMessage { recipient } } }`, { id: message.id });
    expect(node.node).toEqual({ __typename: 'OutboxMessage', recipient: 'dev@example.com' });
    const events = (await ws.client.data(AUDIT, { env })).auditEvents.nodes;
    expect(events).toEqual([{ action: 'email.test_sent', targets: [{ id: env }], after: { to: 'dev@example.com', via: 'outbox' } }]);
  });

  it('refuses to send from a PRODUCTION environment, and keeps and audits nothing', async () => {
    const env = ws.production.id;
    const refused = (await ws.client.data(SEND, { input: { environmentId: env, to: 'ops@example.com' } })).sendTestEmail;
    expect(refused).toEqual({ delivery: null, userErrors: oneError('email.not_configured', ['input', 'environmentId']) });
    expect(refused.userErrors[0].message).toContain('GATEHOUSE_SMTP_URL');
    expect((await ws.client.data(OUTBOX, { env })).developmentOutbox.totalCount).toBe(0);
    expect((await ws.client.data(AUDIT, { env })).auditEvents.nodes).toEqual([]);
  });

  it('refuses a bad address, and keys without the scopes', async () => {
    const env = ws.development.id;
    for (const to of ['not an address', 'a@b', '', 'x'.repeat(400) + '@example.com']) {
      const payload = (await ws.client.data(SEND, { input: { environmentId: env, to } })).sendTestEmail;
      expect(payload.delivery, to).toBeNull();
      expect(payload.userErrors[0].field).toEqual(['input', 'to']);
    }
    const keyWith = async (scopes: string[]) => {
      const created = (await ws.client.data(CREATE_KEY, { input: { name: scopes.join(' '), environmentId: env, scopes } })).createApiKey;
      return ws.client.withKey(created.secret);
    };
    // Reading the outbox is reading users' sign-in codes: users:read is not enough.
    const reader = await keyWith(['users:read', 'environments:read']);
    expect((await reader.request(OUTBOX, { env })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await reader.request(SEND, { input: { environmentId: env, to: 'a@example.com' } })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const writer = await keyWith(['users:write']);
    expect((await writer.request(OUTBOX, { env })).errors).toBeUndefined();
  });

  it('limits test messages per environment', async () => {
    const other = await server.workspace('Mail limits');
    const env = other.development.id;
    const results = [];
    for (let i = 0; i < 7; i += 1) results.push(await other.client.request(SEND, { input: { environmentId: env, to: `n${i}@example.com` } }));
    const limited = results.filter((result) => result.errors?.[0].extensions?.code === 'RATE_LIMITED');
    expect(limited.length).toBe(2);
    expect((await other.client.data(OUTBOX, { env })).developmentOutbox.totalCount).toBe(5);
  });
});

describe('with an SMTP server', () => {
  let peer: SmtpPeer;
  let server: TestServer;
  let ws: TestWorkspace;
  beforeAll(async () => {
    peer = await smtpPeer();
    server = await startServer({ smtpUrl: peer.url, mailFrom: 'Acme Sign-in <signin@acme.example>' });
    ws = await server.workspace('SMTP');
  });
  afterAll(async () => {
    await server.close();
    await peer.close();
  });

  it('sends from every environment through it, and keeps nothing in an outbox', async () => {
    for (const [env, to] of [
      [ws.production.id, 'ops@example.com'],
      [ws.development.id, 'dev@example.com'],
    ]) {
      const sent = (await ws.client.data(SEND, { input: { environmentId: env, to } })).sendTestEmail;
      expect(sent.userErrors).toEqual([]);
      expect(sent.delivery.via).toBe('SMTP');
      expect(sent.delivery.messageId).toMatch(/^<.+@.+>$/);
    }
    await peer.until(2);
    const [production, development] = peer.received;
    expect(peer.envelopes).toEqual([['ops@example.com'], ['dev@example.com']]);
    expect(production.from?.value).toEqual([{ address: 'signin@acme.example', name: 'Acme Sign-in' }]);
    expect(production.subject).toContain('Gatehouse test message');
    expect(production.text).toContain('can send email');
    expect(development.to).toMatchObject({ value: [{ address: 'dev@example.com' }] });
    expect((await ws.client.data(OUTBOX, { env: ws.development.id })).developmentOutbox.totalCount).toBe(0);
    const events = (await ws.client.data(AUDIT, { env: ws.production.id })).auditEvents.nodes;
    expect(events).toEqual([{ action: 'email.test_sent', targets: [{ id: ws.production.id }], after: { to: 'ops@example.com', via: 'smtp' } }]);
  });

  it('send to the one address given, never to a list smuggled into it', async () => {
    const before = peer.envelopes.length;
    const response = await ws.client.request(SEND, { input: { environmentId: ws.production.id, to: 'first,second,x@example.com' } });
    // Refused by the validation, by the server, or delivered to that one odd address: never to "first" and "second".
    const after = peer.envelopes.slice(before).flat();
    expect(after.filter((address) => address === 'first' || address === 'second' || address.startsWith('first@') || address.startsWith('second@'))).toEqual([]);
    expect(after.length).toBeLessThanOrEqual(1);
    expect(response.data?.sendTestEmail?.delivery?.via ?? response.errors?.[0]?.extensions?.code ?? response.data?.sendTestEmail?.userErrors?.[0]?.code).toBeDefined();
  });

  it('require STARTTLS on smtp:// unless the URL opts out', async () => {
    const plain = await smtpPeer();
    const strict = await startServer({ smtpUrl: plain.url.replace('?requireTLS=false', '') });
    try {
      const owner = await strict.workspace('Strict TLS');
      const response = await owner.client.request(SEND, { input: { environmentId: owner.production.id, to: 'ops@example.com' } });
      expect(response.errors?.[0]).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(plain.received).toEqual([]);
    } finally {
      await strict.close();
      await plain.close();
    }
  });

  it('reports a refusal by the mail server as a clear error, without the server URL', async () => {
    const refusing = await smtpPeer({ reject: true });
    const other = await startServer({ smtpUrl: refusing.url.replace('smtp://', 'smtp://mailer:s3cret-pass@') });
    try {
      const owner = await other.workspace('Refused');
      const response = await owner.client.request(SEND, { input: { environmentId: owner.production.id, to: 'ops@example.com' } });
      expect(response.errors?.[0]).toMatchObject({ message: expect.stringContaining('did not accept'), extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(JSON.stringify(response)).not.toContain('s3cret-pass');
      expect((await owner.client.data(AUDIT, { env: owner.production.id })).auditEvents.nodes).toEqual([]);
    } finally {
      await other.close();
      await refusing.close();
    }
  });
});
