import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneError } from '../helpers/graphql.js';
import { startServer, type TestServer, type TestWorkspace } from '../helpers/server.js';

const FIELDS = 'id signUpPolicy sessionIdleTtl sessionAbsoluteTtl';
const UPDATE = `mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { ${FIELDS} } userErrors { code field message } } }`;
const AUDIT = `query($env: ID) { auditEvents(environmentId: $env, first: 10, filter: { actions: ["environment.updated"] }) { nodes { before after } } }`;

let server: TestServer;
let ws: TestWorkspace;

beforeAll(async () => {
  server = await startServer();
  ws = await server.workspace('Sign-in settings');
});
afterAll(() => server.close());

describe('environment sign-in settings', () => {
  it('default to open sign-up, 7-day idle and 30-day absolute sessions, in every environment', async () => {
    const data = await ws.client.data(`query { environments(first: 10) { nodes { ${FIELDS} } } }`);
    expect(data.environments.nodes).toHaveLength(2);
    for (const env of data.environments.nodes) expect(env).toMatchObject({ signUpPolicy: 'OPEN', sessionIdleTtl: 604_800, sessionAbsoluteTtl: 2_592_000 });
  });

  it('change through updateEnvironment, audited', async () => {
    const env = ws.production.id;
    const changed = (await ws.client.data(UPDATE, { input: { id: env, signUpPolicy: 'INVITE_ONLY', sessionIdleTtl: 3_600, sessionAbsoluteTtl: 86_400 } })).updateEnvironment;
    expect(changed).toEqual({ environment: { id: env, signUpPolicy: 'INVITE_ONLY', sessionIdleTtl: 3_600, sessionAbsoluteTtl: 86_400 }, userErrors: [] });
    const [event] = (await ws.client.data(AUDIT, { env })).auditEvents.nodes;
    expect(event.before).toMatchObject({ signUpPolicy: 'OPEN', sessionIdleTtl: 604_800 });
    expect(event.after).toMatchObject({ signUpPolicy: 'INVITE_ONLY', sessionIdleTtl: 3_600, sessionAbsoluteTtl: 86_400 });
  });

  it('refuse lifetimes out of bounds, or an absolute one below the idle one, changing nothing', async () => {
    const env = ws.development.id;
    const cases: [Record<string, unknown>, string][] = [
      [{ sessionIdleTtl: 299 }, 'sessionIdleTtl'],
      [{ sessionIdleTtl: 31 * 86_400 }, 'sessionIdleTtl'],
      [{ sessionAbsoluteTtl: 366 * 86_400 }, 'sessionAbsoluteTtl'],
      [{ sessionIdleTtl: 7_200, sessionAbsoluteTtl: 3_600 }, 'sessionAbsoluteTtl'],
      // Against the stored idle lifetime (7 days).
      [{ sessionAbsoluteTtl: 3_600 }, 'sessionAbsoluteTtl'],
    ];
    for (const [input, field] of cases) {
      const refused = (await ws.client.data(UPDATE, { input: { id: env, signUpPolicy: 'INVITE_ONLY', ...input } })).updateEnvironment;
      expect(refused, JSON.stringify(input)).toEqual({ environment: null, userErrors: oneError('environment.invalid_session_lifetime', ['input', field]) });
    }
    const after = await ws.client.data(`query($id: ID!) { environment(id: $id) { ${FIELDS} } }`, { id: env });
    expect(after.environment).toEqual({ id: env, signUpPolicy: 'OPEN', sessionIdleTtl: 604_800, sessionAbsoluteTtl: 2_592_000 });
  });
});
