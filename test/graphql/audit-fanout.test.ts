import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionFanoutOf, type FanoutStats } from '../../src/graphql/subscription-fanout.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';
import { subscribe, wsClient, type Subscriber } from '../helpers/subscriptions.js';

// Live audit subscriptions with the same document, variables and authorization share one
// execution per event (src/graphql/subscription-fanout.ts); what each subscriber receives must
// stay exactly its own: its environment, its filter, its cursor, each event once, in order.

type Event = { id: string; sequence: string; action: string; environmentId: string | null; targets: { id: string }[] };

const STREAM = `subscription($env: ID, $after: String, $filter: AuditEventFilterInput) {
  auditEvents(environmentId: $env, after: $after, filter: $filter) { id sequence action environmentId targets { id } }
}`;
const NEWEST = 'query($env: ID) { auditEvents(environmentId: $env, first: 2) { nodes { sequence } } }';
const CREATE_ORG = 'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }';
const ORGS = { actions: ['organization.*'] };

let server: TestServer;
let a: TestWorkspace;
let b: TestWorkspace;
const open: Subscriber<Event>[] = [];

beforeAll(async () => {
  server = await startServer();
  [a, b] = [await server.workspace('Fanout A'), await server.workspace('Fanout B')];
});
afterAll(async () => {
  await Promise.all(open.map((subscriber) => subscriber.dispose()));
  await server.close();
});

function stats(): FanoutStats {
  const fanout = subscriptionFanoutOf(server.app.server);
  if (!fanout) throw new Error('no subscription fanout on the test server');
  return { ...fanout.stats };
}

function stream(key: string, variables: Record<string, unknown>): Subscriber<Event> {
  const subscriber = subscribe<Event>(server.graphqlUrl, `Bearer ${key}`, STREAM, variables);
  open.push(subscriber);
  return subscriber;
}

async function createOrganization(client: GraphQLClient, environmentId: string, name: string): Promise<string> {
  return (await client.data(CREATE_ORG, { input: { environmentId, name } })).createOrganization.organization.id;
}

/** The sequences of the newest two events of an environment's chain. */
async function newest(client: GraphQLClient, env: string): Promise<[string, string]> {
  const nodes = (await client.data(NEWEST, { env })).auditEvents.nodes as { sequence: string }[];
  return [nodes[0].sequence, nodes[1].sequence];
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

function expectOnceInOrder(events: Event[]): void {
  const sequences = events.map((event) => BigInt(event.sequence));
  expect(new Set(sequences).size).toBe(sequences.length);
  expect([...sequences].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequences);
}

describe('shared execution of live audit subscriptions', () => {
  it('gives each subscriber exactly its own events while equal subscriptions share one execution per event', async () => {
    // Known starting points in every chain, so no subscriber can miss an event by starting late.
    await createOrganization(a.client, a.development.id, 'Seed dev 1');
    await createOrganization(a.client, a.development.id, 'Seed dev 2');
    await createOrganization(a.client, a.production.id, 'Seed prod');
    await createOrganization(b.client, b.development.id, 'Seed B');
    const [aDev, aDevPrevious] = await newest(a.client, a.development.id);
    const [aProd] = await newest(a.client, a.production.id);
    const [bDev] = await newest(b.client, b.development.id);
    const auditOnly = (await a.client.data('mutation { createApiKey(input: { name: "audit only", scopes: ["audit:read"] }) { secret } }'))
      .createApiKey.secret as string;

    const before = stats();
    // Three equal subscriptions, and a fourth that differs only in where it resumes: one group.
    const same = [0, 1, 2].map(() => stream(a.ownerKey, { env: a.development.id, filter: ORGS, after: aDev }));
    const resumedEarlier = stream(a.ownerKey, { env: a.development.id, filter: ORGS, after: aDevPrevious });
    // Another environment of the same workspace, another workspace, another filter, another key's scopes.
    const production = stream(a.ownerKey, { env: a.production.id, filter: ORGS, after: aProd });
    const otherWorkspace = stream(b.ownerKey, { env: b.development.id, filter: ORGS, after: bDev });
    const users = stream(a.ownerKey, { env: a.development.id, filter: { actions: ['user.*'] }, after: aDev });
    const narrowerKey = stream(auditOnly, { env: a.development.id, filter: ORGS, after: aDev });
    await until(() => stats().subscriptions === before.subscriptions + 8, 'the 8 subscriptions to reach the fanout');
    expect(stats().groups - before.groups).toBe(5);

    const devOrgs: string[] = [];
    for (let i = 0; i < 5; i += 1) devOrgs.push(await createOrganization(a.client, a.development.id, `Dev ${i}`));
    const prodOrg = await createOrganization(a.client, a.production.id, 'Prod');
    const bOrg = await createOrganization(b.client, b.development.id, 'B');
    await a.client.data('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
      input: { environmentId: a.development.id, email: 'fanout@example.com' },
    });

    for (const subscriber of [...same, narrowerKey]) await subscriber.waitFor(5);
    await resumedEarlier.waitFor(6);
    for (const subscriber of [production, otherWorkspace, users]) await subscriber.waitFor(1);
    await settle();

    for (const subscriber of [...same, narrowerKey]) {
      expect(subscriber.errors).toEqual([]);
      expect(subscriber.events.map((event) => event.targets[0].id)).toEqual(devOrgs);
      expect(subscriber.events.every((event) => event.environmentId === a.development.id && event.action === 'organization.created')).toBe(true);
      expectOnceInOrder(subscriber.events);
    }
    // The replayed event first, then the same live ones.
    expect(resumedEarlier.events.map((event) => event.sequence)).toEqual([aDev, ...same[0].events.map((event) => event.sequence)]);
    expectOnceInOrder(resumedEarlier.events);
    expect(production.events.map((event) => [event.environmentId, event.targets[0].id])).toEqual([[a.production.id, prodOrg]]);
    expect(otherWorkspace.events.map((event) => [event.environmentId, event.targets[0].id])).toEqual([[b.development.id, bOrg]]);
    expect(users.events.map((event) => [event.environmentId, event.action])).toEqual([[a.development.id, 'user.created']]);

    // Executions: the group of four ran 5 live events and the one replayed event once each; the
    // narrower key's equal subscription is a group of its own (5); the others one each.
    const after = stats();
    expect(after.executions - before.executions).toBe(6 + 5 + 1 + 1 + 1);
    expect(after.frames - before.frames).toBe(3 * 5 + 6 + 5 + 1 + 1 + 1);
    // Every frame was framed once and written on the raw socket (ws.send is only the fallback).
    expect(after.directFrames - before.directFrames).toBe(after.frames - before.frames);

    await Promise.all(open.splice(0).map((subscriber) => subscriber.dispose()));
    await until(() => stats().subscriptions === before.subscriptions, 'the subscriptions to end');
    expect(stats().groups).toBe(before.groups);
  });

  it('delivers every event exactly once to each of several equal subscriptions on one connection', async () => {
    await createOrganization(a.client, a.development.id, 'Before multiplexed');
    const [head] = await newest(a.client, a.development.id);
    const before = stats();
    const { client } = wsClient(server.graphqlUrl, `Bearer ${a.ownerKey}`);
    const received: Event[][] = [[], [], [], []];
    const completed: boolean[] = [false, false, false, false];
    const unsubscribe = received.map((events, i) =>
      client.subscribe<{ auditEvents: Event }>(
        { query: STREAM, variables: { env: a.development.id, filter: ORGS, after: head } },
        {
          next: (result) => result.data && events.push(result.data.auditEvents),
          error: (error) => {
            throw error;
          },
          complete: () => (completed[i] = true),
        },
      ),
    );
    try {
      await until(() => stats().subscriptions === before.subscriptions + 4, 'the 4 subscriptions to reach the fanout');
      const orgs: string[] = [];
      // Written concurrently: commits may arrive together and leave in one write per socket.
      orgs.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => createOrganization(a.client, a.development.id, `Multiplexed ${i}`)))));
      await until(() => received.every((events) => events.length >= 20), 'every subscription to get the 20 events');
      // One subscription completes; the others keep receiving, the completed one nothing more.
      unsubscribe[0]();
      await until(() => stats().subscriptions === before.subscriptions + 3, 'the completed subscription to leave');
      const last = await createOrganization(a.client, a.development.id, 'After one completed');
      await until(() => received.slice(1).every((events) => events.length >= 21), 'the open subscriptions to get the last event');
      await settle();
      expect(received[0]).toHaveLength(20);
      expect(new Set(received[0].map((event) => event.targets[0].id))).toEqual(new Set(orgs));
      for (const events of received.slice(1)) {
        expect(events).toHaveLength(21);
        expect(events.map((event) => event.sequence)).toEqual([...received[0], events[20]].map((event) => event.sequence));
        expect(events[20].targets[0].id).toBe(last);
        expectOnceInOrder(events);
      }
      expect(stats().executions - before.executions).toBe(21);
    } finally {
      unsubscribe.forEach((stop) => stop());
      await client.dispose();
    }
  });
});
