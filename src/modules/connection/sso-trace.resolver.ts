import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { pageConnection, PageArgsType } from '../../graphql/connection.js';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { Cost } from '../../graphql/cost.js';
import { listSsoTraces, MAX_TRACE_STEPS } from './sso-trace.service.js';
import type { SsoTrace } from './sso-trace.entity.js';
import { SsoTraceConnection, SsoTraceFilterInput, SsoTraceNode, SsoTraceStepType } from './sso-trace.types.js';

@Resolver(() => SsoTraceNode)
export class SsoTraceResolver {
  @Query(() => SsoTraceConnection, {
    description: 'Sign-in attempts through SSO connections (of a connection, an organization, or an environment), newest first: why people could or could not sign in. Needs `audit:read`.',
  })
  async ssoTraces(
    @Args() page: PageArgsType,
    @Ctx() ctx: GraphQLContext,
    @Arg('environmentId', () => ID, { nullable: true, description: 'Environment; defaults to the key\'s.' }) environmentId?: string,
    @Arg('organizationId', () => ID, { nullable: true, description: 'Only this organization\'s.' }) organizationId?: string,
    @Arg('connectionId', () => ID, { nullable: true, description: 'Only this connection\'s.' }) connectionId?: string,
    @Arg('filter', () => SsoTraceFilterInput, { nullable: true, description: 'Outcome and request id.' }) filter?: SsoTraceFilterInput,
  ) {
    return pageConnection(await listSsoTraces(services(ctx), { environmentId, organizationId, connectionId, ...filter }, page, ctx.config.maxPageSize));
  }

  @Cost({ maxItems: MAX_TRACE_STEPS })
  @FieldResolver(() => [SsoTraceStepType], { description: 'What happened, in order.' })
  steps(@Root() trace: SsoTrace): SsoTraceStepType[] {
    return trace.steps.map((step) => ({ at: new Date(step.at), step: step.step, ok: step.ok, detail: step.detail ?? null }));
  }
}
