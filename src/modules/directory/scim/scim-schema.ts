/**
 * The SCIM 2.0 schemas Gatehouse serves (RFC 7643 §4, §8.7.1): the core User with the Enterprise
 * User extension, and the core Group. One definition drives the `/Schemas` document, the filter
 * compiler (attribute names are matched case-insensitively, values compared as each attribute's
 * type and `caseExact` say) and the checks of what a client may write (`mutability`).
 */

export type ScimAttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type ScimMutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type ScimReturned = 'always' | 'never' | 'default' | 'request';
export type ScimUniqueness = 'none' | 'server' | 'global';

export interface ScimAttribute {
  name: string;
  type: ScimAttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: ScimMutability;
  returned: ScimReturned;
  uniqueness: ScimUniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: ScimAttribute[];
}

export interface ScimSchema {
  id: string;
  name: string;
  description: string;
  attributes: ScimAttribute[];
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

type Options = Partial<Omit<ScimAttribute, 'name' | 'type' | 'description'>>;

function attribute(name: string, type: ScimAttributeType, description: string, options: Options = {}): ScimAttribute {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

const text = (name: string, description: string, options: Options = {}) => attribute(name, 'string', description, options);

/** A multi-valued complex attribute of the usual shape: value, display, type, primary. */
function plural(name: string, description: string, types: string[], valueType: ScimAttributeType = 'string', extra: ScimAttribute[] = []): ScimAttribute {
  return attribute(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      attribute('value', valueType, `The value of one of the ${name}.`),
      text('display', 'A human-readable name, primarily for display.'),
      text('type', 'A label of the value\'s function.', { canonicalValues: types }),
      attribute('primary', 'boolean', 'Whether this is the primary value; at most one is.'),
      ...extra,
    ],
  });
}

/**
 * `id`, `externalId` and `meta`: every resource has them (RFC 7643 §3.1), though no schema lists
 * them. Filters and `attributes` may name them.
 */
export const COMMON_ATTRIBUTES: ScimAttribute[] = [
  text('id', 'The resource\'s identifier, issued by Gatehouse.', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  text('externalId', 'The identifier the provisioning client gave the resource.', { caseExact: true }),
  attribute('meta', 'complex', 'The resource\'s metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      text('resourceType', 'The resource type.', { caseExact: true, mutability: 'readOnly' }),
      attribute('created', 'dateTime', 'When the resource was created.', { mutability: 'readOnly' }),
      attribute('lastModified', 'dateTime', 'When the resource was last changed.', { mutability: 'readOnly' }),
      attribute('location', 'reference', 'The resource\'s URI.', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      text('version', 'The resource\'s version (its ETag).', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

export const USER: ScimSchema = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    text('userName', 'Unique identifier for the User, typically their sign-in name. Unique within the directory, compared case-insensitively.', { required: true, uniqueness: 'server' }),
    attribute('name', 'complex', 'The components of the user\'s real name.', {
      subAttributes: [
        text('formatted', 'The full name, formatted for display.'),
        text('familyName', 'The family name.'),
        text('givenName', 'The given name.'),
        text('middleName', 'The middle name(s).'),
        text('honorificPrefix', 'The honorific prefix(es), e.g. "Ms.".'),
        text('honorificSuffix', 'The honorific suffix(es), e.g. "III".'),
      ],
    }),
    text('displayName', 'The name of the User, suitable for display.'),
    text('nickName', 'The casual way to address the user.'),
    attribute('profileUrl', 'reference', 'A URI of an online profile.', { referenceTypes: ['external'] }),
    text('title', 'The user\'s title, such as "Vice President".'),
    text('userType', 'The relationship between the organization and the user, e.g. "Employee".'),
    text('preferredLanguage', 'The preferred written or spoken language, e.g. "en-US".'),
    text('locale', 'The default location for localizing, e.g. "en-US".'),
    text('timezone', 'The time zone, in IANA format, e.g. "Europe/Paris".'),
    attribute('active', 'boolean', 'Whether the user may sign in. false deprovisions them.'),
    text('password', 'Not kept: Gatehouse users sign in without passwords.', { mutability: 'writeOnly', returned: 'never' }),
    plural('emails', 'Email addresses of the user.', ['work', 'home', 'other']),
    plural('phoneNumbers', 'Phone numbers of the user.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    plural('ims', 'Instant messaging addresses of the user.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    plural('photos', 'URIs of images of the user.', ['photo', 'thumbnail'], 'reference'),
    attribute('addresses', 'complex', 'Physical mailing addresses of the user.', {
      multiValued: true,
      subAttributes: [
        text('formatted', 'The full mailing address.'),
        text('streetAddress', 'The street address.'),
        text('locality', 'The city or locality.'),
        text('region', 'The state or region.'),
        text('postalCode', 'The zip or postal code.'),
        text('country', 'The country, ISO 3166-1 alpha-2.'),
        text('type', 'A label of the address\'s function.', { canonicalValues: ['work', 'home', 'other'] }),
        attribute('primary', 'boolean', 'Whether this is the primary address.'),
      ],
    }),
    attribute('groups', 'complex', 'The groups of this directory the user belongs to (set through the Groups, not here).', {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        text('value', 'The group\'s id.', { mutability: 'readOnly', caseExact: true }),
        attribute('$ref', 'reference', 'The group\'s URI.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        text('display', 'The group\'s display name.', { mutability: 'readOnly' }),
        text('type', 'direct: Gatehouse keeps no nested groups.', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    plural('entitlements', 'Entitlements of the user.', []),
    plural('roles', 'Roles of the user in the provisioning system.', []),
    plural('x509Certificates', 'Certificates of the user.', [], 'binary'),
  ],
};

export const ENTERPRISE_USER: ScimSchema = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    text('employeeNumber', 'A numeric or alphanumeric identifier assigned by the organization.'),
    text('costCenter', 'The cost center.'),
    text('organization', 'The organization.'),
    text('division', 'The division.'),
    text('department', 'The department.'),
    attribute('manager', 'complex', 'The user\'s manager.', {
      subAttributes: [
        text('value', 'The id of the manager\'s User.'),
        attribute('$ref', 'reference', 'The URI of the manager\'s User.', { referenceTypes: ['User'] }),
        text('displayName', 'The manager\'s display name.', { mutability: 'readOnly' }),
      ],
    }),
  ],
};

export const GROUP: ScimSchema = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    text('displayName', 'A human-readable name for the Group.', { required: true }),
    attribute('members', 'complex', 'The members of the Group: Users of this directory.', {
      multiValued: true,
      subAttributes: [
        text('value', 'The id of a member User.', { mutability: 'immutable', caseExact: true }),
        attribute('$ref', 'reference', 'The URI of the member.', { mutability: 'immutable', referenceTypes: ['User'] }),
        text('display', 'The member\'s display name.', { mutability: 'readOnly' }),
        text('type', 'User: groups of groups are not kept.', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
    }),
  ],
};

/** The schemas of a resource type: its core schema, then its extensions. */
export interface ResourceSchemas {
  core: ScimSchema;
  extensions: ScimSchema[];
}

export const USER_SCHEMAS: ResourceSchemas = { core: USER, extensions: [ENTERPRISE_USER] };
export const GROUP_SCHEMAS: ResourceSchemas = { core: GROUP, extensions: [] };

/** An attribute an attribute path names, with where it lives. */
export interface ResolvedAttribute {
  /** The schema that defines it (the core one for common attributes). */
  schema: ScimSchema;
  /** The canonical names from the resource down: ['name', 'givenName'], ['emails']. */
  path: string[];
  attribute: ScimAttribute;
  /** For a sub-attribute, the attribute it belongs to. */
  parent: ScimAttribute | null;
}

const byName = (attributes: readonly ScimAttribute[], name: string) => attributes.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());

/**
 * The attribute `attrPath` names (RFC 7644 §3.10: `[URN ":"] attrName ["." subAttr]`, names
 * case-insensitive), or null. Without a URN a path names a common or core attribute; an
 * extension's attributes need its URN.
 */
export function resolveAttribute(schemas: ResourceSchemas, attrPath: string): ResolvedAttribute | null {
  let schema = schemas.core;
  let rest = attrPath;
  if (attrPath.toLowerCase().startsWith('urn:')) {
    const all = [schemas.core, ...schemas.extensions];
    const named = all.find((candidate) => attrPath.toLowerCase().startsWith(`${candidate.id.toLowerCase()}:`));
    if (!named) return null;
    schema = named;
    rest = attrPath.slice(named.id.length + 1);
  }
  const [name, sub, ...more] = rest.split('.');
  if (!name || more.length) return null;
  const top = byName(schema.attributes, name) ?? (schema === schemas.core ? byName(COMMON_ATTRIBUTES, name) : undefined);
  if (!top) return null;
  if (sub === undefined) return { schema, path: [top.name], attribute: top, parent: null };
  const child = top.subAttributes && byName(top.subAttributes, sub);
  if (!child) return null;
  return { schema, path: [top.name, child.name], attribute: child, parent: top };
}

/** A sub-attribute of `parent` named case-insensitively, or null. */
export function resolveSubAttribute(parent: ScimAttribute, name: string): ScimAttribute | null {
  return (parent.subAttributes && byName(parent.subAttributes, name)) ?? null;
}
