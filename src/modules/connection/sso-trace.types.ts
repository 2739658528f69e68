import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { SsoConnectionType } from './connection.entity.js';
import { SsoTraceOutcome } from './sso-trace.entity.js';

registerEnumType(SsoTraceOutcome, {
  name: 'SsoTraceOutcome',
  description: 'How an attempt to sign in through a connection ended.',
  valuesConfig: {
    STARTED: { description: 'Sent to the IdP; no answer came back (yet).' },
    SUCCEEDED: { description: 'The person signed in.' },
    FAILED: { description: 'Refused; `reason` says why.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'One step of a sign-in attempt.' })
export class SsoTraceStepType {
  @Field({ description: 'When it happened.' })
  at!: Date;

  @Field({ description: 'What happened: `request_sent`, `response_validated`, `request_matched`, `code_exchanged`, `signed_in`, `failed`.' })
  step!: string;

  @Field({ description: 'Whether it went well.' })
  ok!: boolean;

  @Field(() => String, { nullable: true, description: 'For people: what was sent, received or wrong.' })
  detail!: string | null;
}

@ObjectType('SsoTrace', {
  implements: Node,
  description:
    'One attempt to sign in through an SSO connection, from the request sent to the IdP to the outcome, kept for the retention period (`GATEHOUSE_SSO_TRACE_RETENTION_DAYS`). Holds no token, code or secret.',
})
export class SsoTraceNode extends Node {
  @Field(() => ID, { description: 'Environment.' })
  environmentId!: string;

  @Field(() => ID, { description: 'The organization of the connection.' })
  organizationId!: string;

  @Field(() => ID, { description: 'The connection.' })
  connectionId!: string;

  @Field(() => SsoConnectionType, { description: 'Protocol.' })
  protocol!: SsoConnectionType;

  @Field(() => SsoTraceOutcome, { description: 'How it ended.' })
  outcome!: SsoTraceOutcome;

  @Field(() => String, { nullable: true, description: 'Why it failed: the code the error page showed as `sso.<reason>`.' })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'Why it failed, for people.' })
  detail!: string | null;

  @Field(() => [SsoTraceStepType], { description: 'What happened, in order.' })
  steps!: SsoTraceStepType[];

  @Field(() => ID, { nullable: true, description: 'Who signed in.' })
  userId!: string | null;

  @Field(() => String, { nullable: true, description: 'The email address of who signed in.' })
  email!: string | null;

  @Field(() => [String], { description: 'HTTP request ids of the attempt (an error page shows one).' })
  requestIds!: string[];

  @Field(() => String, { nullable: true, description: 'The SAML AuthnRequest sent.' })
  samlRequest!: string | null;

  @Field(() => String, { nullable: true, description: 'The SAML response received, decoded (at most 64 KiB).' })
  samlResponse!: string | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'What the IdP said about the person: the verified NameID and attributes (SAML) or the claims (OIDC).' })
  profile!: Record<string, unknown> | null;

  @Field({ description: 'When the attempt began.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;

  @Field({ description: 'When it will be deleted.' })
  expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of sign-in traces.' })
export class SsoTraceConnection extends Connection(SsoTraceNode, 'SsoTrace') {}

@InputType({ description: 'Which traces.' })
export class SsoTraceFilterInput {
  @Field(() => SsoTraceOutcome, { nullable: true, description: 'Only attempts that ended so.' })
  outcome?: SsoTraceOutcome | null;

  @Field(() => String, { nullable: true, description: 'The attempt an error page\'s request id belongs to.' })
  requestId?: string | null;
}
