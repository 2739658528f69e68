import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { Migration } from '@mikro-orm/migrations';
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../migrations/index.js';
import { sqlFile } from '../../migrations/sql-file.js';

/**
 * The triggers and functions of the audit trail, webhooks and OAuth cache live in
 * migrations/sql/*.sql, read by the migrations (migrations/sql-file.ts). A migration that has
 * run in the field must keep meaning what it meant, so what each one executes is pinned here:
 * the SHA-256 of its statements, in order, as they were when the SQL was still written inline.
 * A change of a trigger is a new migration (and a new .sql file), never an edit of these.
 */
const PINNED: Record<string, string> = {
  'Migration20261127001157_initial.up': 'c0cf782df9a63393c3daf2fb76939e78f773976bc5c4f3a5a0cbdaac7ddea7cc',
  'Migration20261127001157_initial.down': '530131aa3761dec8f6c96cb203fe33dfa25400ba4d60e988281f55961cba5179',
  'Migration20261127011108_audit_hash_chain.up': 'bc1b3508507ea25938a3fffb0e330a9e96a847c8d53ebeae0999a2399aaed094',
  'Migration20261127011108_audit_hash_chain.down': 'd2824793393f62c4a2a8ca057db0d2f3f3cce0d836de7a55f8166a4b7a6e8f76',
  'Migration20261127012000_audit_notify.up': '6cfc7049e673b90766020d3a0a6e46fc2d391a418eec17c53bd024f6566ab587',
  'Migration20261127012000_audit_notify.down': 'acf28031d1486478aec7b19ebf484e0e122fa08ca978c0d9edce25e942289530',
  'Migration20261127012506_audit_retention.up': 'cace321a0a1a4eefa2119a7ac7c948ba24b362cae160ca8f4d28c5a04e93f6ec',
  'Migration20261127012506_audit_retention.down': '66029dc83f1c7c2a3d44a8549af763a29d30e42eef5ca8d09aa04f0f6e5332ab',
  'Migration20261127013124_webhooks.up': '414b5ff8e7b65e7f731c8b4c928bd48feb5dbb4a52756f8f8f5ec6e334d0714b',
  'Migration20261127013124_webhooks.down': 'a9f059c93767f1ec4215e128d85a2a60ead9615cb0659e7a21fe999986e921cb',
  'Migration20261127023609_oauth.up': '6691dd516d5084ed6df7dff19d05db37c3fcbb82ac4c164ab742cef0567ca90f',
  'Migration20261127023609_oauth.down': 'bf0f98980c7ac48c89607cb9f35f838195b58858983c8ad3715a668ec31bcfef',
  'Migration20261127023700_oauth_cache_notify.up': 'a738e861655e3cdfca00f2c14096481670f4ff6bafc1364f42091529933e2573',
  'Migration20261127023700_oauth_cache_notify.down': '8fc0ba37a5bf23368f92effe0d67c6dc7a5a9bdf4f821a79aa7a0409e47fae91',
  'Migration20261127041000_webhook_notify.up': '4d30f280609a583f297e96e08cc6b0abdd287353d0ee31b4937febf1ada56dca',
  'Migration20261127041000_webhook_notify.down': '33ca34bd1fd84c55c55c754bf21033156d4bdbdace9bd9f8887ab683dd3e7f06',
  'Migration20261201120000_audit_sequence_once.up': '9d8e82f2fde7a4add14ce6e193fdeda28c48c42a244f8449859c055617deb53a',
  'Migration20261201120000_audit_sequence_once.down': 'c679d27d5b00bb0be181e5ad002130897fae75917d748dcb10b0edfeaf557d82',
};

/** What a migration executes in one direction, statement by statement. */
async function statementsOf(migration: { name: string; class: unknown }, direction: 'up' | 'down'): Promise<string[]> {
  // Building the statements needs neither a driver nor a configuration.
  const instance = new (migration.class as new (driver: never, config: never) => Migration)({} as never, {} as never);
  await instance[direction]();
  return instance.getQueries().map(String);
}

describe('migrations', () => {
  it.each(Object.keys(PINNED))('%s executes what it always did', async (key) => {
    const [name, direction] = key.split('.') as [string, 'up' | 'down'];
    const migration = migrationsList.find((entry) => entry.name === name);
    expect(migration, name).toBeDefined();
    const statements = await statementsOf(migration!, direction);
    expect(createHash('sha256').update(JSON.stringify(statements)).digest('hex')).toBe(PINNED[key]);
  });

  it('reads every file of migrations/sql, whole', async () => {
    const executed: string[] = [];
    for (const migration of migrationsList) for (const direction of ['up', 'down'] as const) executed.push(...(await statementsOf(migration, direction)));
    const files = readdirSync(new URL('../../migrations/sql/', import.meta.url)).filter((file) => file.endsWith('.sql'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(executed, file).toContain(sqlFile(file.replace(/\.sql$/, '')));
  });
});
