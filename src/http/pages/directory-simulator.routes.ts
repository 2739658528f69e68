import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../../auth/failed-auth-limiter.js';
import { RateBudget } from '../../auth/rate-budget.js';
import { systemFork } from '../../db/tenant-scope.js';
import { AppError } from '../../errors/app-error.js';
import { authenticateDirectory, DirectoryAuthFailure } from '../../modules/directory/directory-auth.js';
import { DirectoryRepository } from '../../modules/directory/directory.repository.js';
import type { SimulatedProvider } from '../../modules/directory/simulator/provisioning-sequences.js';
import { simulateProvisioning, type Simulation } from '../../modules/directory/simulator/provisioning-simulator.js';
import { EnvironmentKind } from '../../modules/environment/environment.entity.js';
import type { EnvironmentState } from '../oauth/oauth-cache.js';
import { field, message, type Fields } from './page-kit.js';
import { brand, sendPage } from './render.js';
import type { SignInDeps, SignInKit } from './sign-in.routes.js';

type EnvParams = { env: string };
type DirectoryParams = EnvParams & { id: string };

/** Replays per client address and minute: each is some fifteen SCIM requests. */
const RUNS_PER_ADDRESS_PER_MINUTE = 10;
/** Replays into one directory per minute, from anywhere. */
const RUNS_PER_DIRECTORY_PER_MINUTE = 20;
const PROVIDERS: { value: SimulatedProvider; label: string }[] = [
  { value: 'OKTA', label: 'Okta' },
  { value: 'ENTRA_ID', label: 'Microsoft Entra ID' },
];

/**
 * The provisioning simulator's page (directories of DEVELOPMENT environments, else a 404):
 * `GET <issuer>/directories/:id/simulator` shows the form, the POST (CSRF protected) takes the
 * directory's own bearer token, so it acts with exactly the credential the identity provider
 * will hold, replays the chosen sequence and shows each step's request, response and effects.
 */
export function registerDirectorySimulatorRoutes(
  scope: FastifyInstance,
  deps: SignInDeps,
  environment: (request: FastifyRequest<{ Params: EnvParams }>) => Promise<EnvironmentState>,
  kit: SignInKit,
): void {
  const { binding } = deps;
  const path = '/e/:env/directories/:id/simulator';

  const directoryOf = async (env: EnvironmentState, id: string) => (env.kind === EnvironmentKind.DEVELOPMENT ? new DirectoryRepository(kit.emOf(env)).find(id) : null);
  const notFound = (reply: FastifyReply, request: FastifyRequest, env: EnvironmentState) =>
    message(reply, request, env, 404, 'There is no such page', 'The provisioning simulator exists only for directories of DEVELOPMENT environments.', 'simulator_not_found');

  const page = (request: FastifyRequest, reply: FastifyReply, env: EnvironmentState, directory: { id: string; name: string; provider: string }, extra: { status?: number; error?: string; simulation?: Simulation } = {}) => {
    const selected = extra.simulation?.provider ?? (directory.provider === 'ENTRA_ID' ? 'ENTRA_ID' : 'OKTA');
    return sendPage(reply, 'directory-simulator', {
      title: 'Provisioning simulator',
      ...brand(env),
      // Its name only once its token was shown: the form alone reveals nothing of it.
      directoryName: extra.simulation ? directory.name : null,
      action: `/e/${env.id}/directories/${directory.id}/simulator`,
      csrf: binding.csrfToken(binding.browserId(request, reply)),
      providers: PROVIDERS.map((provider) => ({ ...provider, selected: provider.value === selected })),
      error: extra.error ?? null,
      simulation: extra.simulation ? presented(extra.simulation) : null,
    }, { status: extra.status ?? 200 });
  };

  scope.get(path, async (request: FastifyRequest<{ Params: DirectoryParams }>, reply) => {
    const env = await environment(request);
    const directory = await directoryOf(env, request.params.id);
    if (!directory) return notFound(reply, request, env);
    return page(request, reply, env, directory);
  });

  const runs = new RateBudget(RUNS_PER_ADDRESS_PER_MINUTE);
  const perDirectory = new RateBudget(RUNS_PER_DIRECTORY_PER_MINUTE);
  scope.post(path, async (request: FastifyRequest<{ Params: DirectoryParams }>, reply) => {
    const env = await environment(request);
    const found = await directoryOf(env, request.params.id);
    if (!found) return notFound(reply, request, env);
    const fields = request.body as Fields | undefined;
    if (!binding.checkCsrf(binding.existingBrowserId(request), field(fields, 'csrf'))) {
      return message(reply, request, env, 403, 'This form has expired', 'Open the simulator again. Cookies must be enabled.', 'csrf_failed');
    }
    if ((await runs.take(addressKey(request.ip ?? null))) > 0) {
      return message(reply, request, env, 429, 'Too many replays', 'Too many simulations came from this network; try again in a minute.', 'rate_limited');
    }
    const provider = field(fields, 'provider');
    if (provider !== 'OKTA' && provider !== 'ENTRA_ID') return page(request, reply, env, found, { status: 400, error: 'Pick Okta or Microsoft Entra ID.' });
    const meta = deps.requestMeta(request);
    let authenticated;
    try {
      authenticated = await authenticateDirectory(systemFork(deps.orm, 'provisioning simulator: the directory of a bearer token'), found.id, `Bearer ${field(fields, 'token') ?? ''}`);
    } catch (error) {
      // Counted and audited like the SCIM endpoint's own refusals.
      const blocked = await deps.ipFailures.recordFailure(addressKey(request.ip ?? null));
      if (blocked > 0) return message(reply, request, env, 429, 'Too many failed attempts', 'Too many wrong tokens came from this network; try again later.', 'rate_limited');
      await deps.audit.appendAnonymousFailure(
        { principal: null, anonymous: true, meta },
        {
          action: 'directory.authentication_failed',
          workspaceId: env.workspaceId,
          environmentId: env.id,
          organizationId: found.organizationId,
          targets: [{ type: 'directory', id: found.id, name: found.name }],
          after: { reason: error instanceof DirectoryAuthFailure ? error.reason : 'token_mismatch', method: 'POST', path: '/simulator' },
        },
      );
      return page(request, reply, env, found, { status: 401, error: 'This is not the directory\'s bearer token (or the directory is INACTIVE).' });
    }
    if ((await perDirectory.take(found.id)) > 0) {
      return message(reply, request, env, 429, 'Too many replays', 'This directory was replayed into too often in the last minute; try again in a minute.', 'rate_limited');
    }
    try {
      const simulation = await simulateProvisioning(
        kit.emOf(env),
        { directory: authenticated.directory, workspaceId: authenticated.workspaceId, provider, emailDomain: field(fields, 'domain') ?? null, groupName: field(fields, 'group') ?? null },
        { publicUrl: deps.config.publicUrl, meta, actor: { principal: null, meta, directory: { id: authenticated.directory.id, name: authenticated.directory.name } }, logger: deps.logger },
      );
      return page(request, reply, env, found, { simulation });
    } catch (error) {
      if (error instanceof AppError && error.expose) return page(request, reply, env, found, { status: 400, error: error.message });
      throw error;
    }
  });
}

/** A simulation as the page shows it: bodies pretty-printed, targets in a line. */
function presented(simulation: Simulation) {
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value, null, 2));
  return {
    title: `${simulation.provider === 'OKTA' ? 'Okta' : 'Microsoft Entra ID'}, people of ${simulation.domain}, group "${simulation.groupName}"`,
    steps: simulation.steps.map((step) => ({
      ...step,
      requestBody: json(step.requestBody),
      responseBody: json(step.responseBody),
      effects: step.effects.map((effect) => ({ action: effect.action, targets: effect.targets.map((target) => `${target.type} ${target.name ?? target.id}`).join(', ') })),
    })),
  };
}
