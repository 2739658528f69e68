import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { services, type GraphQLContext } from '../../graphql/context.js';
import { mutationPayload } from '../../graphql/user-error.js';
import { UpdateWorkspaceInput, UpdateWorkspacePayload, WorkspaceType } from './workspace.types.js';
import { getWorkspace, updateWorkspace } from './workspace.service.js';

@Resolver(() => WorkspaceType)
export class WorkspaceResolver {
  @Query(() => WorkspaceType, { description: 'The workspace of the calling API key. Needs `workspace:read`.' })
  workspace(@Ctx() ctx: GraphQLContext) {
    return getWorkspace(services(ctx));
  }

  @Mutation(() => UpdateWorkspacePayload, { description: 'Renames the workspace. Needs `workspace:write`.' })
  updateWorkspace(@Arg('input', { description: 'What to do; see the input type.' }) input: UpdateWorkspaceInput, @Ctx() ctx: GraphQLContext) {
    return mutationPayload(ctx, async () => ({ workspace: await updateWorkspace(services(ctx), input) }));
  }
}
