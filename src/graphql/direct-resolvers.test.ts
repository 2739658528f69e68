import { describe, expect, it } from 'vitest';
import { MembershipResolver } from '../modules/membership/membership.resolver.js';
import { directFieldResolvers } from './direct-resolvers.js';
import { directlyResolvedFields, getSchema } from './schema.js';

describe('direct field resolvers', () => {
  it('call the nested relations of lists without type-graphql’s per-call wrapper', async () => {
    await getSchema();
    for (const field of ['Membership.user', 'Membership.organization', 'Membership.roles', 'Role.permissions', 'Organization.domains', 'AuditEvent.targets']) {
      expect(directlyResolvedFields).toContain(field);
    }
  });

  it('leave fields with arguments to type-graphql, which converts them', async () => {
    await getSchema();
    expect(directlyResolvedFields).not.toContain('Organization.memberships');
    expect(directlyResolvedFields).not.toContain('User.memberships');
  });

  it('rewire nothing when the schema has global middlewares or an auth checker, which only the wrapper runs', async () => {
    const schema = await getSchema();
    const resolvers = [MembershipResolver] as const;
    // The positive control: the same resolvers, without middleware or auth checker, are rewired.
    expect(directFieldResolvers(schema, { resolvers })).toContain('Membership.user');
    expect(directFieldResolvers(schema, { resolvers, globalMiddlewares: [async (_data, next) => next()] })).toEqual([]);
    expect(directFieldResolvers(schema, { resolvers, authChecker: () => true })).toEqual([]);
    // Nor resolver classes the schema was not built from.
    expect(directFieldResolvers(schema, { resolvers: [class Unrelated {}] })).toEqual([]);
  });
});
