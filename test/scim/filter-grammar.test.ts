import type { EntityManager } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/db/sql.js';
import { compileFilter, MAX_FILTER_COMPARISONS, type FilterTarget } from '../../src/modules/directory/scim/scim-filter.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMAS } from '../../src/modules/directory/scim/scim-schema.js';
import { scimTypeOf } from '../../src/modules/directory/scim/scim-errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { USER_FILTER_TARGET } from '../../src/modules/directory/directory-user.repository.js';

/**
 * The SCIM filter grammar (RFC 7644 §3.4.2.2), compiled to SQL and run by the database: each case
 * is a filter and the users it must select from the table below, checked against what the
 * database returns. Attribute names and operators in any case; strings case-insensitive unless
 * caseExact; absent attributes never match a comparison (and so match its `not`).
 */
let database: TestDatabase;
let em: EntityManager;

const TABLE = 'scim_filter_case';
/** The filter target of the Users endpoint itself (its columns and stored resource), over a table of the same columns. */
const TARGET: FilterTarget = USER_FILTER_TARGET;

const USERS = [
  {
    id: 'u1',
    externalId: 'EXT-1',
    userName: 'Barbara.Jensen@Example.com',
    active: true,
    created: '2026-01-01T00:00:00Z',
    resource: {
      name: { givenName: 'Barbara', familyName: 'Jensen' },
      displayName: 'Babs Jensen',
      title: 'Tour Guide',
      emails: [
        { value: 'bjensen@example.com', type: 'work', primary: true },
        { value: 'babs@jensen.org', type: 'home', primary: false },
      ],
      [ENTERPRISE_USER_SCHEMA]: { department: 'Tour Operations', employeeNumber: '701984', manager: { value: 'u2' } },
    },
  },
  {
    id: 'u2',
    externalId: 'ext-2',
    userName: 'kim@example.com',
    active: false,
    created: '2026-02-01T00:00:00Z',
    resource: {
      name: { givenName: 'Kim', familyName: 'Lee' },
      displayName: 'Kim "K" Lee',
      emails: [{ value: 'kim@example.com', type: 'work', primary: false }],
      [ENTERPRISE_USER_SCHEMA]: { department: 'Finance' },
    },
  },
  {
    id: 'u3',
    externalId: null,
    userName: 'pat@other.test',
    active: true,
    created: '2026-03-01T00:00:00Z',
    resource: { name: { givenName: 'Pat' }, title: '', emails: [] },
  },
  {
    id: 'u4',
    externalId: 'EXT-4',
    userName: 'sam@example.com',
    active: true,
    created: '2026-04-01T00:00:00Z',
    resource: { displayName: 'Sam', emails: [{ value: 'sam@work.example.com', type: 'work' }, { value: 'SAM@home.test', type: 'home', primary: true }] },
  },
];

beforeAll(async () => {
  database = await createTestDatabase();
  em = database.db.orm.em.fork();
  await sql(em, `create table "${TABLE}" ("id" text primary key, "external_id" text, "user_name" text not null, "active" boolean not null, "display_name" text, "created_at" timestamptz not null, "updated_at" timestamptz not null, "resource" jsonb not null)`);
  for (const user of USERS) {
    const displayName = (user.resource as { displayName?: string }).displayName ?? null;
    await sql(em, `insert into "${TABLE}" values (?, ?, ?, ?, ?, ?, ?, ?::jsonb)`, [user.id, user.externalId, user.userName, user.active, displayName, user.created, user.created, JSON.stringify(user.resource)]);
  }
});
afterAll(() => database.drop());

async function select(filter: string, target = TARGET): Promise<string[]> {
  const { sql: condition, params } = compileFilter(filter, target);
  const rows = await sql<{ id: string }>(em, `select u."id" from "${TABLE}" u where ${condition} order by u."id"`, params);
  return rows.map((row) => row.id);
}

const CASES: [string, string[]][] = [
  // eq on a column, case-insensitive (userName) and caseExact (externalId, id)
  ['userName eq "barbara.jensen@example.com"', ['u1']],
  ['USERNAME Eq "KIM@EXAMPLE.COM"', ['u2']],
  ['externalId eq "EXT-1"', ['u1']],
  ['externalId eq "ext-1"', []],
  ['id eq "u3"', ['u3']],
  ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "sam@example.com"', ['u4']],
  // ne, co, sw, ew, ordering
  ['userName ne "kim@example.com"', ['u1', 'u3', 'u4']],
  ['userName co "EXAMPLE"', ['u1', 'u2', 'u4']],
  ['userName sw "ba"', ['u1']],
  ['userName ew ".test"', ['u3']],
  ['userName gt "m"', ['u3', 'u4']],
  ['userName le "kim@example.com"', ['u1', 'u2']],
  // pr, and null
  ['externalId pr', ['u1', 'u2', 'u4']],
  ['externalId eq null', ['u3']],
  ['title pr', ['u1']],
  ['emails pr', ['u1', 'u2', 'u4']],
  ['name.familyName pr', ['u1', 'u2']],
  ['name pr', ['u1', 'u2', 'u3']],
  // booleans
  ['active eq true', ['u1', 'u3', 'u4']],
  ['active eq false', ['u2']],
  ['active ne true', ['u2']],
  // sub-attributes of a single complex attribute, and extension attributes by URN
  ['name.givenName eq "barbara"', ['u1']],
  ['name.GIVENNAME sw "k"', ['u2']],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "finance"', ['u2']],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "u2"', ['u1']],
  ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr', ['u1']],
  // multi-valued attributes: any value matches
  ['emails.value eq "kim@example.com"', ['u2']],
  ['emails co "jensen.org"', ['u1']],
  ['emails.type eq "home"', ['u1', 'u4']],
  ['emails[type eq "work" and primary eq true]', ['u1']],
  ['emails[type eq "home" and value ew "@home.test"]', ['u4']],
  ['emails[primary eq true] and active eq true', ['u1', 'u4']],
  ['emails[not (type eq "work")]', ['u1', 'u4']],
  ['name[givenName eq "Pat"]', ['u3']],
  // and, or, not, grouping, precedence (and binds tighter than or)
  ['userName sw "kim" or userName sw "sam"', ['u2', 'u4']],
  ['active eq true and userName co "example" or externalId eq "ext-2"', ['u1', 'u2', 'u4']],
  ['active eq true and (userName co "example" or externalId eq "ext-2")', ['u1', 'u4']],
  ['not (active eq true)', ['u2']],
  ['not (title eq "Tour Guide")', ['u2', 'u3', 'u4']],
  ['not (emails[type eq "work"])', ['u3']],
  // strings with quotes, and meta dates
  ['displayName eq "Kim \\"K\\" Lee"', ['u2']],
  ['displayName eq "a].b" or userName eq "sam@example.com"', ['u4']],
  ['meta.created gt "2026-02-01T00:00:00Z"', ['u3', 'u4']],
  ['meta.created ge "2026-02-01T00:00:00Z"', ['u2', 'u3', 'u4']],
  ['meta.lastModified lt "2026-01-15T00:00:00+00:00"', ['u1']],
];

describe('SCIM filters compile to SQL the database evaluates', () => {
  it.each(CASES)('%s', async (filter, expected) => {
    expect(await select(filter)).toEqual(expected);
  });

  it('puts every value in a parameter, never in the SQL text', () => {
    const { sql: condition, params } = compileFilter(`displayName eq "x'); drop table users; --" or emails[value co "'"]`, TARGET);
    expect(condition).not.toContain('drop table');
    expect(params).toEqual(["x'); drop table users; --", "'"]);
  });

  it('compiles Group filters against the Group schema', () => {
    const target: FilterTarget = { schemas: GROUP_SCHEMAS, resource: 'g."resource"', columns: { displayName: { sql: 'g."display_name"', kind: 'text' } } };
    expect(compileFilter('DisplayName eq "Engineering"', target).sql).toContain('lower(g."display_name")');
    expect(() => compileFilter('userName eq "x"', target)).toThrow(/Unknown attribute "userName"/);
  });
});

const INVALID: [string, RegExp][] = [
  ['', /cannot be parsed/],
  ['userName eq', /cannot be parsed/],
  ['userName xx "a"', /cannot be parsed/],
  ['userName eq "a" or', /cannot be parsed/],
  ['(userName eq "a"', /cannot be parsed/],
  ['nickname eq "a" and unknownThing eq "b"', /Unknown attribute "unknownThing"/],
  ['urn:example:unknown:schema:department eq "x"', /Unknown attribute/],
  ['department eq "x"', /Unknown attribute "department"/],
  ['name.givenName.more eq "x"', /Unknown attribute/],
  ['active eq "true"', /compared with a boolean/],
  ['active gt true', /only eq and ne apply/],
  ['userName eq 5', /compared with a string/],
  ['meta.created sw "2026"', /co, sw and ew apply to strings/],
  ['meta.created gt "yesterday"', /date and time/],
  ['name eq "x"', /complex: compare one of its sub-attributes/],
  ['emails[type eq "work"].value eq "x"', /cannot be followed by "\.subAttribute"/],
  ['emails[value[type eq "x"]]', /cannot be parsed|cannot hold another/],
  ['emails[name.givenName eq "x"]', /must name one of its sub-attributes/],
  ['emails[department eq "x"]', /has no sub-attribute "department"/],
  ['userName[value eq "x"]', /not a complex attribute/],
  ['userName gt null', /Only eq and ne/],
  [`userName eq "${'x'.repeat(2100)}"`, /longer than 2048/],
  [Array.from({ length: MAX_FILTER_COMPARISONS + 1 }, (_, i) => `userName eq "u${i}"`).join(' or '), /more than 32 comparisons/],
];

describe('a filter the grammar or the schema refuses is a SCIM invalidFilter error', () => {
  it.each(INVALID)('%s', (filter, message) => {
    let caught: unknown;
    try {
      compileFilter(filter, TARGET);
    } catch (error) {
      caught = error;
    }
    expect(scimTypeOf(caught)).toBe('invalidFilter');
    expect((caught as Error).message).toMatch(message);
  });
});
