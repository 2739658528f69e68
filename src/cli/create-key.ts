/**
 * `npm run create-key -- --workspace <slug> [--environment <slug>] [--scopes a,b] [--name N]`:
 * mints an API key for an existing workspace and prints it once. The recovery path when the
 * owner key is lost: it needs access to the database, not to the API. Audited as
 * `api_key.created` by SYSTEM.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/core';
import { recordAudit, type RequestMeta } from '../audit/audit-recorder.js';
import { ALL_SCOPES, isKnownScope } from '../auth/scopes.js';
import { migrate } from '../db/database.js';
import { mapDbError } from '../db/db-errors.js';
import { AppError, invalid } from '../errors/app-error.js';
import { issueApiKey, snapshotApiKey, type IssuedApiKey } from '../modules/api-key/api-key.service.js';
import { Environment } from '../modules/environment/environment.entity.js';
import { checkName } from '../modules/validation.js';
import { Workspace } from '../modules/workspace/workspace.entity.js';
import { openConfiguredDatabase } from './open-configured-database.js';
import { runCommand } from './run-command.js';
import { systemFork } from '../db/tenant-scope.js';

const USAGE =
  'usage: npm run create-key -- --workspace <slug> [--environment <environment slug>] [--scopes a,b] [--name "<key name>"]\n' +
  '  --scopes defaults to * (everything), --name to "Operator key"; without --environment the key reaches the whole workspace';

export interface OperatorKeyInput {
  workspace: string;
  environment?: string;
  scopes: string[];
  name: string;
}

export interface OperatorKey extends IssuedApiKey {
  workspace: Workspace;
  environment: Environment | null;
}

/** `a,b` → sorted unique known scopes; `*` alone when present. */
export function parseScopes(raw: string | undefined): string[] {
  const scopes = [...new Set((raw ?? ALL_SCOPES).split(',').map((scope) => scope.trim()).filter(Boolean))];
  if (scopes.length === 0) throw invalid('api_key.scopes_required', 'Give the key at least one scope', ['scopes']);
  const unknown = scopes.filter((scope) => !isKnownScope(scope));
  if (unknown.length) throw invalid('api_key.unknown_scope', `Unknown scopes: ${unknown.join(', ')}`, ['scopes']);
  return scopes.includes(ALL_SCOPES) ? [ALL_SCOPES] : scopes.sort();
}

/** Mints the key and its audit event in one transaction, like bootstrapWorkspace does for the owner key. */
export async function createOperatorKey(em: EntityManager, input: OperatorKeyInput, meta: RequestMeta): Promise<OperatorKey> {
  const name = checkName(input.name, ['name']);
  const workspace = await em.findOne(Workspace, { slug: input.workspace });
  if (!workspace) throw new AppError('NOT_FOUND', 'workspace.not_found', `No workspace with slug "${input.workspace}"`);
  let environment: Environment | null = null;
  if (input.environment !== undefined) {
    environment = await em.findOne(Environment, { workspaceId: workspace.id, slug: input.environment });
    if (!environment) {
      throw new AppError(
        'NOT_FOUND',
        'environment.not_found',
        `The workspace "${workspace.slug}" has no environment with slug "${input.environment}"`,
      );
    }
  }
  try {
    const issued = await em.fork().transactional(async (tx) => {
      const issued = issueApiKey(tx, {
        workspaceId: workspace.id,
        environmentId: environment?.id ?? null,
        environmentKind: environment?.kind ?? null,
        name,
        scopes: input.scopes,
      });
      recordAudit(tx, { principal: null, meta }, {
        action: 'api_key.created',
        workspaceId: workspace.id,
        environmentId: environment?.id ?? null,
        targets: [{ type: 'api_key', id: issued.apiKey.id, name }],
        after: snapshotApiKey(issued.apiKey),
      });
      return issued;
    });
    return { ...issued, workspace, environment };
  } catch (error) {
    throw mapDbError(error);
  }
}

function parseCommandLine(): Omit<OperatorKeyInput, 'scopes'> & { scopes: string | undefined } {
  let values: { workspace?: string; environment?: string; scopes?: string; name?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        workspace: { type: 'string' },
        environment: { type: 'string' },
        scopes: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.workspace) {
    console.error(USAGE);
    process.exit(2);
  }
  return { workspace: values.workspace, environment: values.environment, scopes: values.scopes, name: values.name ?? 'Operator key' };
}

const args = parseCommandLine();
await runCommand(async () => {
  // Checked before the database is opened: a typo fails at once.
  const input: OperatorKeyInput = { ...args, scopes: parseScopes(args.scopes) };
  const db = await openConfiguredDatabase();
  try {
    await migrate(db.orm);
    const key = await createOperatorKey(systemFork(db.orm, 'operator CLI: create-key'), input, { requestId: 'cli-create-key', ip: null, userAgent: 'gatehouse-cli' });
    const reach = key.environment ? `the ${key.environment.slug} environment (${key.environment.id})` : 'every environment';
    console.log(`API key "${key.apiKey.name}" (${key.apiKey.id}) of workspace ${key.workspace.slug} (${key.workspace.id})`);
    console.log(`  reaches: ${reach}`);
    console.log(`  scopes: ${key.apiKey.scopes.join(', ')}`);
    console.log(`  key (shown once; store it now): ${key.secret}`);
  } finally {
    await db.close();
  }
});
