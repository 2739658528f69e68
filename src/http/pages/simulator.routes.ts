import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { samlServiceProvider } from '../../modules/connection/connection.urls.js';
import { isSimulatorScenario, readAuthnRequest, SIMULATOR_SCENARIOS, type SimulatedPerson, type SimulatorScenario } from '../../modules/connection/simulator-idp.js';
import { findSimulator, flowOfSamlRequest, idpInitiatedTarget, simulateSamlResponse, simulatorKeyOf } from '../../modules/connection/simulator.service.js';
import type { SsoConnection } from '../../modules/connection/connection.entity.js';
import { EnvironmentKind } from '../../modules/environment/environment.entity.js';
import { requestOf } from '../../modules/sign-in/sign-in.service.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { field, message, queryParameters, type Fields } from './page-kit.js';
import { brand, sendPage } from './render.js';
import type { SignInDeps, SignInKit } from './sign-in.routes.js';

type EnvParams = { env: string };
type ConnectionParams = EnvParams & { id: string };

const SCRIPT = readFileSync(fileURLToPath(new URL('./assets/simulator.js', import.meta.url)));
/** Simulated answers per client address and minute (each is an RSA signature). */
const ANSWERS_PER_ADDRESS_PER_MINUTE = 120;

/** SAML bindings §3.4.3: a RelayState is at most 80 bytes; Gatehouse's own are shorter still. */
const MAX_RELAY_STATE = 512;
const XS_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$/;
const MAX_GROUPS = 50;
const MAX_ATTRIBUTES = 20;
const MAX_NAME = 100;
const MAX_VALUE = 256;

/** What the form shows first: a person of the simulated organization's domain. */
const DEFAULT_PERSON = { email: 'alice@example.com', givenName: 'Alice', familyName: 'Example', groups: 'Engineering', attributes: '' };

/**
 * The IdP simulator's pages (SIMULATOR connections of DEVELOPMENT environments, else a 404):
 * `GET <issuer>/sso/simulator/:id` is the IdP's SSO URL, where Gatehouse's AuthnRequest arrives
 * (HTTP-Redirect) and the developer describes the person and picks a scenario; the POST (CSRF
 * protected) signs the response and hands it to the browser in a form that posts itself to the
 * connection's ACS (HTTP-POST), where it meets the real validation like any IdP's answer.
 */
export function registerSimulatorRoutes(
  scope: FastifyInstance,
  deps: SignInDeps,
  environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>,
  kit: SignInKit,
): void {
  const { binding } = deps;
  const path = '/e/:env/sso/simulator/:id';

  scope.get('/assets/simulator.js', async (_request, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(SCRIPT),
  );

  /** The simulator of the URL, or null (not a SIMULATOR connection, or not a DEVELOPMENT environment). */
  const simulatorOf = async (env: EnvironmentState, id: string) => (env.kind === EnvironmentKind.DEVELOPMENT ? findSimulator(kit.emOf(env), id) : null);

  scope.get(path, async (request: FastifyRequest<{ Params: ConnectionParams }>, reply) => {
    const env = await environment(request);
    const found = await simulatorOf(env, request.params.id);
    if (!found) return notFound(reply, request, env);
    const params = queryParameters(request);
    const encoded = field(params, 'SAMLRequest');
    const relayState = field(params, 'RelayState') ?? null;
    if ((params.get('SAMLRequest')?.length ?? 0) > 1 || (relayState?.length ?? 0) > MAX_RELAY_STATE) return badRequest(reply, request, env, 'The sign-in request is malformed.');
    let authnRequest: Exclude<ReturnType<typeof readAuthnRequest>, { error: string }> | null = null;
    let warning: string | null = null;
    if (encoded) {
      const read = readAuthnRequest(encoded);
      if ('error' in read) return badRequest(reply, request, env, `${read.error}.`);
      authnRequest = read;
      const { acsUrl } = samlServiceProvider(env.issuer, found.connection.id);
      if (read.acsUrl && read.acsUrl !== acsUrl) warning = `The request asks for the answer at ${read.acsUrl}; the simulator answers at the connection's own ACS, ${acsUrl}.`;
    }
    const selected: SimulatorScenario = authnRequest ? 'success' : 'idp_initiated';
    return sendPage(reply, 'simulator', {
      title: 'IdP simulator',
      ...brand(env),
      organizationName: found.organizationName,
      action: `/e/${env.id}/sso/simulator/${found.connection.id}`,
      csrf: binding.csrfToken(binding.browserId(request, reply)),
      request: authnRequest,
      relayState,
      warning,
      person: DEFAULT_PERSON,
      scenarios: (Object.keys(SIMULATOR_SCENARIOS) as SimulatorScenario[]).map((value) => ({ value, label: scenarioLabel(found.connection, value), selected: value === selected })),
    });
  });

  const answerBudget = new RateBudget(ANSWERS_PER_ADDRESS_PER_MINUTE);
  scope.post(path, async (request: FastifyRequest<{ Params: ConnectionParams }>, reply) => {
    const env = await environment(request);
    const found = await simulatorOf(env, request.params.id);
    if (!found) return notFound(reply, request, env);
    const fields = request.body as Fields | undefined;
    if (!binding.checkCsrf(binding.existingBrowserId(request), field(fields, 'csrf'))) {
      return message(reply, request, env, 403, 'This form has expired', 'Open the simulator again from the sign-in page. Cookies must be enabled.', 'csrf_failed');
    }
    // Each answer costs an RSA signature: budgeted per client address, as the ACS it posts to.
    if ((await answerBudget.take(addressKey(request.ip ?? null))) > 0) {
      return message(reply, request, env, 429, 'Too many sign-in attempts', 'Too many simulated sign-ins came from this network; try again in a minute.', 'rate_limited');
    }
    const { connection } = found;
    const scenario = field(fields, 'scenario') ?? 'success';
    const requestId = field(fields, 'request_id') ?? null;
    const relayState = field(fields, 'relay_state') ?? null;
    if (!isSimulatorScenario(scenario)) return badRequest(reply, request, env, 'Pick one of the scenarios.');
    if ((requestId !== null && !XS_ID.test(requestId)) || (relayState?.length ?? 0) > MAX_RELAY_STATE) return badRequest(reply, request, env, 'The sign-in request is malformed.');
    const person = readPerson(fields);
    if (typeof person === 'string') return badRequest(reply, request, env, person);
    const key = simulatorKeyOf(deps.box, connection);
    if (!key) return notFound(reply, request, env);
    const { acsUrl, samlResponse } = await simulateSamlResponse(env, connection, key, { scenario, inResponseTo: requestId, person });
    // The ACS's answer ends, through redirects, at the application of the flow the request was
    // sent for, or (IdP-initiated) at the connection's application: the form may lead there (CSP form-action).
    const em = kit.emOf(env);
    const flowId = relayState ? await flowOfSamlRequest(em, connection.id, relayState) : null;
    const flow = flowId ? await kit.flowAndClient(env, flowId, binding.existingBrowserId(request)) : null;
    const handover = await idpInitiatedTarget(em, connection);
    const targets = [...(flow ? [requestOf(flow.flow).redirectUri] : []), ...(handover ? [handover] : [])];
    return sendPage(
      reply,
      'simulator-post',
      { title: 'Signing in', ...brand(env), scenarioLabel: SIMULATOR_SCENARIOS[scenario].label, acsUrl, samlResponse, relayState },
      { scripts: true, redirectTargets: targets },
    );
  });
}

/** A scenario as the select shows it: with the refusal it must meet at the ACS, under this connection's settings. */
function scenarioLabel(connection: SsoConnection, scenario: SimulatorScenario): string {
  const { label, expect } = SIMULATOR_SCENARIOS[scenario];
  if (scenario === 'idp_initiated' && !connection.idpInitiatedApplicationId) return `${label} → sso.idp_initiated_unavailable (the connection names no application)`;
  const accepted = (scenario === 'guest_domain' && connection.allowGuestDomains) || (scenario === 'sha1' && connection.allowSha1);
  return expect && !accepted ? `${label} → sso.${expect}` : label;
}

/** The person the form describes, or what is wrong with it. */
function readPerson(fields: Fields | undefined): SimulatedPerson | string {
  const email = (field(fields, 'email') ?? '').trim();
  if (!EMAIL.test(email) || email.length > 254) return 'Enter a valid email address.';
  const name = (key: string) => (field(fields, key) ?? '').trim().slice(0, MAX_NAME) || null;
  const groups = [...new Set((field(fields, 'groups') ?? '').split(',').map((group) => group.trim()).filter(Boolean))];
  if (groups.length > MAX_GROUPS || groups.some((group) => group.length > MAX_VALUE)) return `At most ${MAX_GROUPS} groups of ${MAX_VALUE} characters.`;
  const attributes: [string, string][] = [];
  for (const line of (field(fields, 'attributes') ?? '').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    const key = at > 0 ? line.slice(0, at).trim() : '';
    const value = at > 0 ? line.slice(at + 1).trim() : '';
    if (!ATTRIBUTE_NAME.test(key) || value.length > MAX_VALUE) return `Write each custom attribute as name=value on a line of its own (names: letters, digits, _ . : / -; values up to ${MAX_VALUE} characters).`;
    attributes.push([key, value]);
  }
  if (attributes.length > MAX_ATTRIBUTES) return `At most ${MAX_ATTRIBUTES} custom attributes.`;
  return { email, givenName: name('given_name'), familyName: name('family_name'), groups, attributes };
}

const notFound = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState) =>
  message(reply, request, env, 404, 'There is no such page', 'The IdP simulator exists only for simulator connections of DEVELOPMENT environments.', 'simulator_not_found');

const badRequest = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState, text: string) =>
  message(reply, request, env, 400, 'The simulator cannot answer this', text, 'simulator_bad_request');
