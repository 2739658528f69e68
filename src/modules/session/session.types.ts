import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { UserType } from '../user/user.types.js';

/** Why a session ended, as the API names it (the entity keeps `SessionEndReason` in lower case). */
export enum SessionEndReasonType {
  SIGNED_OUT = 'signed_out',
  REVOKED = 'revoked',
  USER_SUSPENDED = 'user_suspended',
  USER_DEPROVISIONED = 'user_deprovisioned',
  MEMBERSHIP_REMOVED = 'membership_removed',
  REPLACED = 'replaced',
}
registerEnumType(SessionEndReasonType, {
  name: 'SessionEndReason',
  description: 'Why a session ended before it expired.',
  valuesConfig: {
    SIGNED_OUT: { description: 'The person signed out.' },
    REVOKED: { description: 'Revoked through this API (`revokeSession`, `revokeUserSessions`) or when the user was deleted.' },
    USER_SUSPENDED: { description: 'The user was suspended.' },
    USER_DEPROVISIONED: { description: 'The user was deprovisioned by a directory.' },
    MEMBERSHIP_REMOVED: { description: 'A membership the session was used with was removed or deactivated.' },
    REPLACED: { description: 'The person signed in again in the same browser, as someone else or anew.' },
  },
});

@ObjectType('Session', {
  implements: Node,
  simpleResolvers: true,
  description:
    'A person signed in to an environment in one browser: single sign-on across its applications until it idles out, reaches its absolute lifetime, or is ended. Its token is never shown.',
})
export class SessionType extends Node {
  @Field(() => ID, { description: 'Environment the person signed in to.' })
  environmentId!: string;

  @Field(() => String, { nullable: true, description: 'The browser\'s user agent when the session started (at most 512 characters).' })
  userAgent!: string | null;

  @Field({ description: 'When the session started.' })
  createdAt!: Date;

  @Field({ description: 'When the session was last used (written at most once a minute).' })
  lastSeenAt!: Date;

  @Field(() => [ID], { description: 'Organizations the person signed in to applications as, in this session.' })
  organizationIds!: string[];

  @Field(() => Date, { nullable: true, description: 'When it was ended; null while it runs, and for one that only expired.' })
  endedAt!: Date | null;

  @Field(() => SessionEndReasonType, { nullable: true, description: 'Why it was ended; null while it runs, and for one that only expired.' })
  endReason!: SessionEndReasonType | null;
}

@ObjectType({ simpleResolvers: true, description: 'A page of sessions.' })
export class SessionConnection extends Connection(SessionType, 'Session') {}

@InputType({ description: 'Narrows a list of sessions; all given conditions must hold.' })
export class SessionFilterInput {
  @Field(() => ID, { nullable: true, description: 'Sessions of this user.' })
  userId?: string;

  @Field(() => ID, { nullable: true, description: 'Sessions used to sign in to an application as a member of this organization.' })
  organizationId?: string;

  @Field({ nullable: true, defaultValue: true, description: 'Only sessions that have neither ended nor expired (the default); false lists every kept session.' })
  activeOnly?: boolean;
}

@InputType({ description: 'A session to end.' })
export class RevokeSessionInput {
  @Field(() => ID, { description: 'The session.' })
  id!: string;
}

@InputType({ description: 'A user whose sessions and tokens to end.' })
export class RevokeUserSessionsInput {
  @Field(() => ID, { description: 'The user.' })
  userId!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of revokeSession.' })
export class RevokeSessionPayload {
  @Field(() => SessionType, { nullable: true, description: 'The session, ended.' })
  session?: SessionType;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'Result of revokeUserSessions.' })
export class RevokeUserSessionsPayload {
  @Field(() => UserType, { nullable: true, description: 'The user.' })
  user?: UserType;

  @Field(() => [ID], { nullable: true, description: 'Ids of the sessions that were running and have been ended (possibly none).' })
  revokedSessionIds?: string[];

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
