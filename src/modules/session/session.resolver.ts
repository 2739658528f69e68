import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireScope } from '../../auth/principal.js';
import { pageArgsFor, pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { UserType } from '../user/user.types.js';
import type { UserSession } from './session.entity.js';
import { isLive, listSessions, revokeSession, revokeUserSessions } from './session.service.js';
import {
  RevokeSessionInput,
  RevokeSessionPayload,
  RevokeUserSessionsInput,
  RevokeUserSessionsPayload,
  SessionConnection,
  SessionFilterInput,
  SessionType,
} from './session.types.js';

/**
 * What the field resolvers read of a session: a page hands over plain rows (db/rows.ts), node(id:)
 * an entity. A type alias reflects as `Object`, which type-graphql passes through as is.
 */
type SessionRow = Pick<UserSession, 'userId' | 'ip' | 'authTime' | 'amr' | 'clientIds' | 'expiresAt' | 'absoluteExpiresAt' | 'endedAt'>;

@Resolver(() => SessionType)
export class SessionResolver {
  @FieldResolver(() => UserType, { description: 'The person signed in.' })
  user(@Root() session: SessionRow, @Ctx() ctx: GraphQLContext) {
    requireScope(ctx.principal, 'users:read');
    return ctx.loaders.user.load(session.userId);
  }

  @FieldResolver(() => String, { nullable: true, description: 'The address the session started from, as the server saw it.' })
  ipAddress(@Root() session: SessionRow) {
    return session.ip;
  }

  @FieldResolver(() => Date, { description: 'When the person last proved who they are (OIDC `auth_time`).' })
  authenticatedAt(@Root() session: SessionRow) {
    return session.authTime;
  }

  @FieldResolver(() => [String], { description: 'How they proved it (OIDC `amr`, RFC 8176 values such as `otp` or `mail`).' })
  authenticationMethods(@Root() session: SessionRow) {
    return session.amr;
  }

  @FieldResolver(() => Date, { description: 'When it expires unless used again: its idle deadline, never past its absolute lifetime.' })
  expiresAt(@Root() session: SessionRow) {
    return session.expiresAt.getTime() < session.absoluteExpiresAt.getTime() ? session.expiresAt : session.absoluteExpiresAt;
  }

  @FieldResolver(() => [ID], { description: 'Applications that signed the person in through this session (their OAuth `client_id`s).' })
  applicationIds(@Root() session: SessionRow) {
    return session.clientIds;
  }

  @FieldResolver(() => Boolean, { description: 'Whether it is live now: neither ended nor expired.' })
  active(@Root() session: SessionRow) {
    return isLive(session as UserSession);
  }

  @Query(() => SessionConnection, { description: 'Sessions of an environment\'s users, newest first; by default only live ones. Needs `users:read`.' })
  async sessions(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment to list; defaults to the key\'s.' }) environmentId?: string,
    @Arg('filter', () => SessionFilterInput, { nullable: true, description: 'Conditions to match.' }) filter?: SessionFilterInput,
  ) {
    return pageConnection(await listSessions(services(ctx), { environmentId, filter }, pageArgsFor(page, info), ctx.config.maxPageSize));
  }

  @Mutation(() => RevokeSessionPayload, {
    description: 'Ends a session and revokes the refresh and access tokens issued through it. Needs `users:write`.',
  })
  revokeSession(@Arg('input', { description: 'What to do; see the input type.' }) input: RevokeSessionInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ session: await revokeSession(services(ctx), input) }));
  }

  @Mutation(() => RevokeUserSessionsPayload, {
    description: 'Signs a user out everywhere: ends every live session and revokes every token from their sign-ins. Needs `users:write`.',
  })
  revokeUserSessions(@Arg('input', { description: 'What to do; see the input type.' }) input: RevokeUserSessionsInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, () => revokeUserSessions(services(ctx), input));
  }
}
