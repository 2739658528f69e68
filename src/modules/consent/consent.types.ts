import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Node } from '../../graphql/node.js';

@ObjectType('Consent', {
  implements: Node,
  simpleResolvers: true,
  description:
    'What a person allowed a third-party application: the scopes and APIs granted so far. A sign-in within them does not ask again; one asking for more asks for the difference and adds it.',
})
export class ConsentType extends Node {
  @Field(() => ID, { description: 'Environment of the user and the application.' })
  environmentId!: string;

  @Field(() => [String], { description: 'Scopes granted, accumulated over sign-ins.' })
  scopes!: string[];

  @Field(() => [String], { description: 'Resource server identifiers (APIs, RFC 8707) granted, accumulated over sign-ins.' })
  resources!: string[];

  @Field(() => [ID], { description: 'Organizations the person let the application act as a member of (its tokens carry `org_id`).' })
  organizationIds!: string[];

  @Field({ description: 'When the person first consented.' })
  createdAt!: Date;

  @Field({ description: 'When the grant last grew.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of consents.' })
export class ConsentConnection extends Connection(ConsentType, 'Consent') {}

@InputType({ description: 'Narrows a list of consents; all given conditions must hold.' })
export class ConsentFilterInput {
  @Field(() => ID, { nullable: true, description: 'Consents of this user.' })
  userId?: string;

  @Field(() => ID, { nullable: true, description: 'Consents given to this application.' })
  applicationId?: string;
}
