import { Field, ObjectType } from 'type-graphql';
import { AppError } from '../errors/app-error.js';

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
 */
export async function mutationPayload<T extends object>(work: () => Promise<T>): Promise<Partial<T> & { userErrors: UserError[] }> {
  try {
    return { ...(await work()), userErrors: [] };
  } catch (error) {
    if (error instanceof AppError && error.isUserError) {
      return { userErrors: [{ field: error.field ?? null, code: error.code, message: error.message }] } as Partial<T> & {
        userErrors: UserError[];
      };
    }
    throw error;
  }
}
