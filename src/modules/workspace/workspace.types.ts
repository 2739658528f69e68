import { Field, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';

@ObjectType('Workspace', { simpleResolvers: true, implements: Node, description: 'The builder\'s company: owns environments and API keys.' })
export class WorkspaceType extends Node {
  @Field({ description: 'Display name.' })
  name!: string;

  @Field({ description: 'Unique URL-safe name.' })
  slug!: string;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@InputType({ description: 'Changes to the workspace; omitted fields stay as they are.' })
export class UpdateWorkspaceInput {
  @Field({ nullable: true, description: 'New display name.' })
  name?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of `updateWorkspace`.' })
export class UpdateWorkspacePayload {
  @Field(() => WorkspaceType, { nullable: true, description: 'The workspace after the change.' })
  workspace?: WorkspaceType;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

