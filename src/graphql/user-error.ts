import { Extensions, Field, ObjectType } from 'type-graphql';
import { AppError } from '../errors/app-error.js';
import type { GraphQLContext } from './context.js';
import { createLoaders } from './loaders.js';

// A payload carries at most one: mutationPayload turns the first expected failure into it.
@Extensions({ cost: { maxItems: 1 } })
@ObjectType({ simpleResolvers: true, description: 'An expected failure of a mutation: invalid input or a conflict with existing data.' })
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path of the offending input field, e.g. `["input", "email"]`.' })
  field!: string[] | null;

  @Field({ description: 'Stable machine-readable code, e.g. `user.email_taken`.' })
  code!: string;

  @Field({ description: 'Human-readable explanation.' })
  message!: string;
}

/**
 * Runs a mutation: validation errors and conflicts become `userErrors` in the payload, while
 * authentication, authorization and not-found errors stay GraphQL errors.
 *
 * Root mutation fields run one after another on one request-scoped EntityManager. A failed
 * mutation may leave changed entities in it, which the next mutation's flush would commit
 * without their audit event: so on failure the EntityManager is cleared. Loaders are renewed
 * after every mutation so later fields never read relations cached before the change.
 *
 * (A committed change to OAuth state reaches the token endpoint's cache by itself: see
 * http/oauth/cache-invalidation.ts.)
 */
export async function mutationPayload<T extends object>(
  ctx: GraphQLContext,
  work: () => Promise<T>,
): Promise<Partial<T> & { userErrors: UserError[] }> {
  try {
    const result = await work();
    return { ...result, userErrors: [] };
  } catch (error) {
    ctx.em.clear();
    if (error instanceof AppError && error.isUserError) {
      return { userErrors: [{ field: error.field ?? null, code: error.code, message: error.message }] } as Partial<T> & {
        userErrors: UserError[];
      };
    }
    throw error;
  } finally {
    // Set on the context object the resolvers receive (Apollo may hand them a shallow copy).
    ctx.loaders = createLoaders(ctx.em, ctx.loaderOptions);
  }
}
