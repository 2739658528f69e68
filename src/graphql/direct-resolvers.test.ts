import { describe, expect, it } from 'vitest';
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
    expect(directFieldResolvers(schema, { globalMiddlewares: [async (_data, next) => next()] })).toEqual([]);
    expect(directFieldResolvers(schema, { authChecker: () => true })).toEqual([]);
  });
});
