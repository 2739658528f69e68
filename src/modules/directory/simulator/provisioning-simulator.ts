import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type AuditActor, type RequestMeta } from '../../../audit/audit-recorder.js';
import { AuditEventRepository } from '../../../audit/audit.repository.js';
import { scopedFork, tenantScope } from '../../../db/tenant-scope.js';
import { AppError, invalid } from '../../../errors/app-error.js';
import { EnvironmentKind } from '../../environment/environment.entity.js';
import { EnvironmentRepository } from '../../environment/environment.repository.js';
import { OrganizationDomainRepository } from '../../organization/organization.repository.js';
import { DirectoryStatus, type Directory } from '../directory.entity.js';
import { directoryBaseUrl } from '../directory-presets.js';
import { route, scimErrorOf, type ScimLogger, type ScimResponse } from '../scim/scim-router.js';
import { SEQUENCES, type SequenceRequest, type SequenceState, type SimulatedProvider } from './provisioning-sequences.js';

/** Audit events one step reports as its effects, at most, and targets of each (the GraphQL prices them so). */
export const MAX_EFFECTS_PER_STEP = 20;
export const MAX_TARGETS_PER_EFFECT = 10;
/** Steps of a sequence, at most. */
export const MAX_SIMULATION_STEPS = 16;
const DEFAULT_GROUP_NAME = 'Engineering';
/** When the organization has no verified domain: people of it are provisioned but link to no user. */
const FALLBACK_DOMAIN = 'example.com';

/** One effect of a step: an audit event it caused. */
export interface SimulatedEffect {
  action: string;
  targets: { type: string; id: string; name?: string }[];
}

/** One step of a replayed sequence, as it went. */
export interface SimulatedStep {
  index: number;
  title: string;
  quirk: string;
  /** Why the step did not run (Entra found the group; an earlier step failed), or null. */
  skipped: string | null;
  method: string;
  /** Below the directory's base URL, with the query string. */
  path: string;
  requestBody: unknown;
  status: number | null;
  responseBody: unknown;
  effects: SimulatedEffect[];
}

export interface Simulation {
  provider: SimulatedProvider;
  /** The domain of the simulated people's addresses. */
  domain: string;
  groupName: string;
  steps: SimulatedStep[];
}

export interface SimulationInput {
  /** The directory, read within the caller's scope. */
  directory: Directory;
  workspaceId: string;
  provider?: SimulatedProvider | null;
  emailDomain?: string | null;
  groupName?: string | null;
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * Replays Okta's or Entra ID's documented provisioning sequence into a directory of a
 * DEVELOPMENT environment, through the same SCIM protocol code its identity provider's requests
 * meet (after authentication), with the directory as actor. Each step reports its request, the
 * response, and its effects on users and memberships: the audit events it caused. The people
 * are new each run (a tag in their addresses), of the organization's first verified domain
 * unless another is given, so that they become users and members as real ones would.
 */
export async function simulateProvisioning(
  em: EntityManager,
  input: SimulationInput,
  /** `logger`: where an unexpected failure of a step is reported (it then answers 500 like the endpoint would); without one it ends the simulation. */
  options: { publicUrl: string; meta: RequestMeta; actor: AuditActor; logger?: ScimLogger },
): Promise<Simulation> {
  const { directory } = input;
  const environment = await new EnvironmentRepository(em).get(directory.environmentId);
  if (environment.kind !== EnvironmentKind.DEVELOPMENT) {
    throw invalid('directory.simulator_development_only', 'The provisioning simulator runs in DEVELOPMENT environments only: it creates users and memberships', ['input', 'directoryId']);
  }
  if (directory.status !== DirectoryStatus.ACTIVE) throw invalid('directory.inactive', 'The directory is INACTIVE: its identity provider\'s requests would be refused', ['input', 'directoryId']);
  const provider = input.provider ?? (directory.provider === 'ENTRA_ID' ? 'ENTRA_ID' : 'OKTA');
  const domain = input.emailDomain?.trim().toLowerCase() || (await new OrganizationDomainRepository(em).verifiedNamesOf(directory.organizationId))[0] || FALLBACK_DOMAIN;
  if (!DOMAIN.test(domain)) throw invalid('directory.invalid_domain', 'emailDomain must be a domain name', ['input', 'emailDomain']);
  const groupName = input.groupName?.trim() || DEFAULT_GROUP_NAME;
  // The name goes into Entra's displayName filter as a string: no quote or backslash to break out of it.
  if (groupName.length > 100 || /["\\]/.test(groupName)) throw invalid('directory.invalid_group_name', 'groupName is at most 100 characters, without " or \\', ['input', 'groupName']);

  const scope = tenantScope(input.workspaceId, [directory.environmentId]);
  const state: SequenceState = { tag: randomBytes(3).toString('hex'), domain, groupName, ids: {} };
  const steps: SimulatedStep[] = [];
  const run = async (request: SequenceRequest, meta: RequestMeta): Promise<ScimResponse> => {
    const context = { em: scopedFork(em, scope), directory, meta, baseUrl: directoryBaseUrl(options.publicUrl, directory.id), workspaceId: input.workspaceId };
    try {
      return await route(
        { method: request.method, directoryId: directory.id, path: request.path.split('/').filter(Boolean), query: request.query ?? {}, authorization: undefined, ifMatch: undefined, ifNoneMatch: undefined, body: request.body, meta },
        context,
      );
    } catch (error) {
      if (!options.logger && !(error instanceof AppError && error.expose)) throw error;
      return scimErrorOf(error, meta, options.logger ?? { error: () => undefined, info: () => undefined });
    }
  };

  for (const [index, step] of SEQUENCES[provider].entries()) {
    const report: SimulatedStep = { index, title: step.title, quirk: step.quirk, skipped: null, method: '', path: '', requestBody: null, status: null, responseBody: null, effects: [] };
    steps.push(report);
    let request: SequenceRequest;
    try {
      report.skipped = step.skip?.(state) ?? null;
      request = step.request(state);
    } catch {
      report.skipped = 'An earlier step failed: this one has nothing to act on.';
      continue;
    }
    report.method = request.method;
    report.path = `${request.path}${request.query ? `?${new URLSearchParams(request.query)}` : ''}`;
    report.requestBody = request.body ?? null;
    if (report.skipped) continue;
    const meta = { ...options.meta, requestId: `${options.meta.requestId}.${index + 1}` };
    const since = new Date(Date.now() - 1000);
    const response = await run(request, meta);
    report.status = response.status;
    report.responseBody = response.body ?? null;
    step.capture?.(state, response);
    const events = await new AuditEventRepository(scopedFork(em, scope)).ofRequest(directory.environmentId, meta.requestId, since, MAX_EFFECTS_PER_STEP);
    report.effects = events.map((event) => ({ action: event.action, targets: event.targets.slice(0, MAX_TARGETS_PER_EFFECT) }));
  }

  await em.transactional(async (tx) => {
    recordAudit(tx, options.actor, {
      action: 'directory.simulation_run',
      workspaceId: input.workspaceId,
      environmentId: directory.environmentId,
      organizationId: directory.organizationId,
      targets: [{ type: 'directory', id: directory.id, name: directory.name }],
      after: { provider, domain, groupName, steps: steps.length, failed: steps.filter((step) => step.status !== null && step.status >= 400).length },
    });
  });
  return { provider, domain, groupName, steps };
}
