import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../../graphql/connection.js';
import { Cost } from '../../graphql/cost.js';
import { JSONObjectScalar } from '../../graphql/scalars.js';
import { AuditTargetType } from '../../audit/audit.types.js';
import { MAX_GROUP_ROLE_MAPPINGS } from '../connection/connection.validation.js';
import { Node } from '../../graphql/node.js';
import { UserError } from '../../graphql/user-error.js';
import { SsoGroupRoleMappingInput, SsoGroupRoleMappingType } from '../connection/connection.types.js';
import { DirectoryProvider, DirectoryStatus } from './directory.entity.js';
import { MAX_EFFECTS_PER_STEP, MAX_SIMULATION_STEPS, MAX_TARGETS_PER_EFFECT } from './simulator/provisioning-simulator.js';
import { DEFAULT_TOKEN_OVERLAP_SECONDS, MAX_TOKEN_OVERLAP_SECONDS } from './directory.service.js';

registerEnumType(DirectoryProvider, {
  name: 'DirectoryProvider',
  description: 'The identity provider that provisions into a directory.',
  valuesConfig: {
    OKTA: { description: 'Okta (a SCIM 2.0 app integration).' },
    ENTRA_ID: { description: 'Microsoft Entra ID (an enterprise application with provisioning).' },
    JUMPCLOUD: { description: 'JumpCloud (SCIM identity management of an application).' },
    ONELOGIN: { description: 'OneLogin (a SCIM provisioner connector).' },
    GOOGLE: { description: 'Google Workspace (automated user provisioning).' },
    GENERIC: { description: 'Any SCIM 2.0 client.' },
  },
});

registerEnumType(DirectoryStatus, {
  name: 'DirectoryStatus',
  description: 'Whether a directory accepts its identity provider\'s requests.',
  valuesConfig: {
    ACTIVE: { description: 'Its bearer token is accepted and its changes applied.' },
    INACTIVE: { description: 'Every SCIM request is refused; nothing it provisioned changes.' },
  },
});

@ObjectType('Directory', { implements: Node, description: 'An organization\'s SCIM 2.0 directory: its identity provider provisions the organization\'s people and groups into Gatehouse.' })
export class DirectoryNode extends Node {
  @Field(() => ID, { description: 'Environment.' })
  environmentId!: string;

  @Field(() => ID, { description: 'The organization it provisions into.' })
  organizationId!: string;

  @Field({ description: 'A name for people.' })
  name!: string;

  @Field(() => DirectoryProvider, { description: 'The identity provider that provisions into it.' })
  provider!: DirectoryProvider;

  @Field(() => DirectoryStatus, { description: 'Whether its requests are accepted.' })
  status!: DirectoryStatus;

  @Field({ description: 'The SCIM base URL (tenant URL) to paste into the identity provider.' })
  baseUrl!: string;

  @Field({ description: 'The first characters of its bearer token, to recognise it (the token itself is shown once).' })
  tokenPrefix!: string;

  @Field(() => Date, { nullable: true, description: 'Until when the token replaced by the latest rotation is still accepted; null when it is not.' })
  previousTokenExpiresAt!: Date | null;

  @Cost({ maxItems: MAX_GROUP_ROLE_MAPPINGS })
  @Field(() => [SsoGroupRoleMappingType], { description: 'Group → roles, in priority order: a provisioned member of a group gets its roles in the organization.' })
  groupRoleMappings!: SsoGroupRoleMappingType[];

  @Field(() => ID, { nullable: true, description: 'The organization\'s SSO connection whose people it provisions: a provisioned user and the same person signing in through it are one user.' })
  connectionId!: string | null;

  @Field(() => Date, { nullable: true, description: 'When its identity provider last made a request that authenticated.' })
  lastRequestAt!: Date | null;

  @Field({ description: 'What to paste where in the identity provider.' })
  setupHint!: string;

  @Field({ description: 'When it was created.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of directories.' })
export class DirectoryConnection extends Connection(DirectoryNode, 'Directory') {}

@InputType({ description: 'Directory settings; omitted fields stay as they are.' })
class DirectorySettingsInput {
  @Field(() => DirectoryStatus, { nullable: true, description: 'ACTIVE (the default) or INACTIVE.' })
  status?: DirectoryStatus | null;

  @Field(() => [SsoGroupRoleMappingInput], { nullable: true, description: 'Group (its displayName) → role keys, in priority order; replaces the mappings. `null` or `[]`: none.' })
  groupRoleMappings?: SsoGroupRoleMappingInput[] | null;

  @Field(() => ID, { nullable: true, description: 'The organization\'s SSO connection whose people it provisions; `null` unlinks.' })
  connectionId?: string | null;
}

@InputType({ description: 'A new directory.' })
export class CreateDirectoryInput extends DirectorySettingsInput {
  @Field(() => ID, { description: 'The organization it provisions into.' })
  organizationId!: string;

  @Field({ description: 'A name for people (at most 100 characters).' })
  name!: string;

  @Field(() => DirectoryProvider, { description: 'The identity provider that provisions into it.' })
  provider!: DirectoryProvider;
}

@InputType({ description: 'Changes to a directory (its organization and provider stay).' })
export class UpdateDirectoryInput extends DirectorySettingsInput {
  @Field(() => ID, { description: 'The directory.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'A new name.' })
  name?: string | null;
}

@InputType({ description: 'A new bearer token for a directory.' })
export class RotateDirectoryTokenInput {
  @Field(() => ID, { description: 'The directory.' })
  id!: string;

  @Field(() => Int, {
    nullable: true,
    description: `Seconds the replaced token keeps working, so the identity provider can be updated without failed requests: ${DEFAULT_TOKEN_OVERLAP_SECONDS} by default, 0 to stop it at once, at most ${MAX_TOKEN_OVERLAP_SECONDS}.`,
  })
  overlapSeconds?: number | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a change to a directory.' })
export class DirectoryPayload {
  @Field(() => DirectoryNode, { nullable: true, description: 'The directory after the change.' })
  directory?: DirectoryNode;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType({ simpleResolvers: true, description: 'A directory with a new bearer token.' })
export class DirectoryTokenPayload {
  @Field(() => DirectoryNode, { nullable: true, description: 'The directory.' })
  directory?: DirectoryNode;

  @Field(() => String, { nullable: true, description: 'The bearer token to paste into the identity provider. Shown this once: Gatehouse keeps only its hash.' })
  token?: string;

  @Field(() => [UserError], { description: 'Why the change was refused, if it was.' })
  userErrors!: UserError[];
}

@ObjectType('DirectoryUser', { implements: Node, description: 'A User resource a directory\'s identity provider provisioned (SCIM).' })
export class DirectoryUserNode extends Node {
  @Field(() => ID, { description: 'The directory that provisioned it.' })
  directoryId!: string;

  @Field(() => ID, { description: 'The directory\'s organization.' })
  organizationId!: string;

  @Field({ description: 'Its SCIM userName: unique in the directory, compared case-insensitively.' })
  userName!: string;

  @Field(() => String, { nullable: true, description: 'The identity provider\'s id of the person.' })
  externalId!: string | null;

  @Field({ description: 'false once the identity provider deactivated the person: their membership is then INACTIVE.' })
  active!: boolean;

  @Field(() => String, { nullable: true, description: 'Its display name.' })
  displayName!: string | null;

  @Field(() => String, { nullable: true, description: 'Its primary email address, lower-case.' })
  email!: string | null;

  @Field(() => ID, { nullable: true, description: 'The environment user it is linked to: null while its address is outside the organization\'s verified domains.' })
  userId!: string | null;

  @Field(() => JSONObjectScalar, { description: 'The SCIM resource as the directory\'s SCIM endpoint serves it (without its groups).' })
  resource!: Record<string, unknown>;

  @Field({ description: 'When it was provisioned.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed.' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of directory users.' })
export class DirectoryUserConnection extends Connection(DirectoryUserNode, 'DirectoryUser') {}

@ObjectType('DirectoryGroup', { implements: Node, description: 'A Group resource a directory\'s identity provider provisioned (SCIM); its members get the roles the directory\'s group mappings give it.' })
export class DirectoryGroupNode extends Node {
  @Field(() => ID, { description: 'The directory that provisioned it.' })
  directoryId!: string;

  @Field(() => ID, { description: 'The directory\'s organization.' })
  organizationId!: string;

  @Field({ description: 'Its name: what the group → role mappings name.' })
  displayName!: string;

  @Field(() => String, { nullable: true, description: 'The identity provider\'s id of the group.' })
  externalId!: string | null;

  @Field(() => JSONObjectScalar, { description: 'The SCIM resource as the directory\'s SCIM endpoint serves it, without its members.' })
  resource!: Record<string, unknown>;

  @Field({ description: 'When it was provisioned.' })
  createdAt!: Date;

  @Field({ description: 'When it last changed (its members included).' })
  updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of directory groups.' })
export class DirectoryGroupConnection extends Connection(DirectoryGroupNode, 'DirectoryGroup') {}

@ObjectType('DirectoryRequestError', { simpleResolvers: true, description: 'A SCIM request of a directory that failed, as its identity provider was answered.' })
export class DirectoryRequestErrorType {
  @Field({ description: 'When.' })
  createdAt!: Date;

  @Field({ description: 'The HTTP method.' })
  method!: string;

  @Field({ description: 'The path below the directory\'s base URL (at most 200 characters).' })
  path!: string;

  @Field(() => Int, { description: 'The HTTP status answered.' })
  status!: number;

  @Field(() => String, { nullable: true, description: 'The SCIM error type (RFC 7644 §3.12), when there is one.' })
  scimType!: string | null;

  @Field({ description: 'The error\'s detail (at most 500 characters).' })
  detail!: string;
}

export enum SimulatedProviderEnum {
  OKTA = 'OKTA',
  ENTRA_ID = 'ENTRA_ID',
}

registerEnumType(SimulatedProviderEnum, {
  name: 'SimulatedDirectoryProvider',
  description: 'Whose documented provisioning sequence the simulator replays.',
  valuesConfig: {
    OKTA: { description: 'Okta: probe, create, group push, membership changes, deactivation (never a delete).' },
    ENTRA_ID: { description: 'Microsoft Entra ID: probe, create with the enterprise extension, one member per request, soft then hard delete.' },
  },
});

@InputType({ description: 'Which sequence to replay into which directory.' })
export class SimulateDirectoryProvisioningInput {
  @Field(() => ID, { description: 'The directory (of a DEVELOPMENT environment, ACTIVE).' })
  directoryId!: string;

  @Field(() => SimulatedProviderEnum, { nullable: true, description: 'Whose sequence; defaults to the directory\'s provider (Okta for those that are not Entra ID).' })
  provider?: SimulatedProviderEnum | null;

  @Field(() => String, { nullable: true, description: 'The domain of the simulated people\'s addresses; defaults to the organization\'s first verified domain (then they become users and members), else example.com.' })
  emailDomain?: string | null;

  @Field(() => String, { nullable: true, description: 'The name of the pushed group (a group → role mapping may name it); `Engineering` by default.' })
  groupName?: string | null;
}

@ObjectType('DirectorySimulationEffect', { simpleResolvers: true, description: 'What a step changed: an audit event it caused.' })
export class DirectorySimulationEffectType {
  @Field({ description: 'The audit action, e.g. `membership.created`.' })
  action!: string;

  @Cost({ maxItems: MAX_TARGETS_PER_EFFECT })
  @Field(() => [AuditTargetType], { description: `What it was about (at most ${MAX_TARGETS_PER_EFFECT}).` })
  targets!: AuditTargetType[];
}

@ObjectType('DirectorySimulationStep', { simpleResolvers: true, description: 'One request of the replayed sequence: what was sent, what came back, what it changed.' })
export class DirectorySimulationStepType {
  @Field(() => Int, { description: 'Its position, from 0.' })
  index!: number;

  @Field({ description: 'What the identity provider does.' })
  title!: string;

  @Field({ description: 'The quirk of this request that a server must take.' })
  quirk!: string;

  @Field(() => String, { nullable: true, description: 'Why it did not run, or null.' })
  skipped!: string | null;

  @Field({ description: 'The HTTP method.' })
  method!: string;

  @Field({ description: 'The path below the directory\'s base URL, with its query string.' })
  path!: string;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'The request body sent.' })
  requestBody!: Record<string, unknown> | null;

  @Field(() => Int, { nullable: true, description: 'The HTTP status answered; null when skipped.' })
  status!: number | null;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'The response body.' })
  responseBody!: Record<string, unknown> | null;

  @Cost({ maxItems: MAX_EFFECTS_PER_STEP })
  @Field(() => [DirectorySimulationEffectType], { description: `Its effects on users, memberships, groups and roles: the audit events it caused (at most ${MAX_EFFECTS_PER_STEP}).` })
  effects!: DirectorySimulationEffectType[];
}

@ObjectType('DirectorySimulation', { simpleResolvers: true, description: 'A replayed provisioning sequence.' })
export class DirectorySimulationType {
  @Field(() => SimulatedProviderEnum, { description: 'Whose sequence.' })
  provider!: SimulatedProviderEnum;

  @Field({ description: 'The domain of the simulated people\'s addresses.' })
  domain!: string;

  @Field({ description: 'The pushed group\'s name.' })
  groupName!: string;

  @Cost({ maxItems: MAX_SIMULATION_STEPS })
  @Field(() => [DirectorySimulationStepType], { description: 'The steps, in order.' })
  steps!: DirectorySimulationStepType[];
}

@ObjectType({ description: 'The result of `simulateDirectoryProvisioning`.' })
export class DirectorySimulationPayload {
  @Field(() => DirectorySimulationType, { nullable: true, description: 'The simulation, step by step.' })
  simulation!: DirectorySimulationType | null;

  @Field(() => [UserError], { description: 'Why it was refused, if it was.' })
  userErrors!: UserError[];
}
