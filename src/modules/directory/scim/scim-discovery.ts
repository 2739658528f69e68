import { scimNotFound } from './scim-errors.js';
import { ENTERPRISE_USER, ENTERPRISE_USER_SCHEMA, GROUP, GROUP_SCHEMA, USER, USER_SCHEMA, type ScimAttribute, type ScimSchema } from './scim-schema.js';

/**
 * The discovery documents of RFC 7644 §4 (ServiceProviderConfig, ResourceTypes, Schemas),
 * served under each directory's base URL. They say what this server does, no more: a feature
 * is advertised only once its endpoints exist.
 */

const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** What the server supports now; each flag turns true with the endpoints that honour it. */
export const SCIM_FEATURES = {
  patch: true,
  bulk: true,
  filter: true,
  sort: true,
  etag: true,
  changePassword: false,
} as const;

/** Operations of one Bulk request, at most. */
export const MAX_BULK_OPERATIONS = 1000;
/** A Bulk request's body, at most (the SCIM body limit). */
export const MAX_BULK_PAYLOAD_BYTES = 1024 * 1024;

/** The largest page a list returns (`count` above it is refused). */
export const MAX_SCIM_PAGE_SIZE = 100;

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: 'https://github.com/gatehouse-dev/gatehouse#scim-20-directory-sync',
    patch: { supported: SCIM_FEATURES.patch },
    bulk: { supported: SCIM_FEATURES.bulk, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: MAX_BULK_PAYLOAD_BYTES },
    filter: { supported: SCIM_FEATURES.filter, maxResults: MAX_SCIM_PAGE_SIZE },
    changePassword: { supported: SCIM_FEATURES.changePassword },
    sort: { supported: SCIM_FEATURES.sort },
    etag: { supported: SCIM_FEATURES.etag },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'The directory\'s bearer token (Authorization: Bearer gh_scim_…), made or rotated in Gatehouse\'s GraphQL API.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/** The resource types served. */
const RESOURCE_TYPES = [
  { id: 'User', name: 'User', endpoint: '/Users', description: 'User Account', schema: USER_SCHEMA, schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }] },
  { id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group', schema: GROUP_SCHEMA, schemaExtensions: [] },
];

const resourceType = (baseUrl: string, type: (typeof RESOURCE_TYPES)[number]) => ({
  schemas: [RESOURCE_TYPE_SCHEMA],
  ...type,
  meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.id}` },
});

const SCHEMAS: ScimSchema[] = [USER, ENTERPRISE_USER, GROUP];

/** An attribute as the Schemas document describes it (RFC 7643 §7). */
function describe(attribute: ScimAttribute): Record<string, unknown> {
  return {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.multiValued,
    description: attribute.description,
    required: attribute.required,
    ...(attribute.type === 'string' || attribute.type === 'reference' || attribute.type === 'binary' ? { caseExact: attribute.caseExact } : {}),
    ...(attribute.canonicalValues?.length ? { canonicalValues: attribute.canonicalValues } : {}),
    ...(attribute.referenceTypes ? { referenceTypes: attribute.referenceTypes } : {}),
    mutability: attribute.mutability,
    returned: attribute.returned,
    uniqueness: attribute.uniqueness,
    ...(attribute.subAttributes ? { subAttributes: attribute.subAttributes.map(describe) } : {}),
  };
}

const schemaDocument = (baseUrl: string, schema: ScimSchema) => ({
  schemas: [SCHEMA_SCHEMA],
  id: schema.id,
  name: schema.name,
  description: schema.description,
  attributes: schema.attributes.map(describe),
  meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
});

function list<T>(resources: T[]) {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1, Resources: resources };
}

/** `GET /ResourceTypes` or `/ResourceTypes/<id>`. */
export function resourceTypes(baseUrl: string, id?: string) {
  if (id === undefined) return list(RESOURCE_TYPES.map((type) => resourceType(baseUrl, type)));
  const type = RESOURCE_TYPES.find((candidate) => candidate.id === id);
  if (!type) throw scimNotFound(`No resource type "${id.slice(0, 100)}": ${RESOURCE_TYPES.map((candidate) => candidate.id).join(', ')} served`);
  return resourceType(baseUrl, type);
}

/** `GET /Schemas` or `/Schemas/<urn>`. */
export function schemas(baseUrl: string, id?: string) {
  if (id === undefined) return list(SCHEMAS.map((schema) => schemaDocument(baseUrl, schema)));
  const schema = SCHEMAS.find((candidate) => candidate.id.toLowerCase() === id.toLowerCase());
  if (!schema) throw scimNotFound(`No schema "${id.slice(0, 200)}"`);
  return schemaDocument(baseUrl, schema);
}
