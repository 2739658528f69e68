import { invalid } from '../../errors/app-error.js';
import { attribute, childElements, clip, is, NS, parseXml, refuseUnsafeXml, text, type XmlElement } from './saml/saml-xml.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
/** Federation aggregates run to megabytes; one IdP's metadata is a few kilobytes. */
const MAX_METADATA_BYTES = 512 * 1024;

/** What a connection takes from an IdP's SAML metadata. */
export interface IdpMetadata {
  entityId: string;
  /** The SingleSignOnService of the HTTP-Redirect binding, the one Gatehouse sends requests by. */
  ssoUrl: string | null;
  /** Base64 DER of each signing certificate (KeyDescriptor use="signing" or without use). */
  certificates: string[];
}

/**
 * Reads an IdP's metadata (SAML Metadata §2.4.3): one EntityDescriptor (alone, or the only one
 * of an EntitiesDescriptor) with an IDPSSODescriptor. DTDs are refused before parsing, as for
 * responses. Refused with BAD_USER_INPUT `sso_connection.invalid_metadata` on `field`.
 */
export function parseIdpMetadata(xml: string, field: string[]): IdpMetadata {
  const fail = (why: string) => invalid('sso_connection.invalid_metadata', `Not usable IdP metadata: ${clip(why)}`, field);
  if (Buffer.byteLength(xml) > MAX_METADATA_BYTES) throw fail(`larger than ${MAX_METADATA_BYTES / 1024} KiB`);
  const safe = refuseUnsafeXml(xml.replace(/^\uFEFF/, ''));
  if (typeof safe !== 'string') throw fail(safe.detail);
  const root = parseXml(safe);
  if ('ok' in root) throw fail(root.detail);

  let entity: XmlElement = root;
  if (is(root, MD, 'EntitiesDescriptor')) {
    const entities = childElements(root, MD, 'EntityDescriptor');
    if (entities.length !== 1) throw fail(`it describes ${entities.length} entities; paste the IdP's own metadata`);
    entity = entities[0]!;
  }
  if (!is(entity, MD, 'EntityDescriptor')) throw fail('the root is not an md:EntityDescriptor');
  const entityId = attribute(entity, 'entityID')?.trim();
  if (!entityId) throw fail('the EntityDescriptor has no entityID');
  const [idp, ...more] = childElements(entity, MD, 'IDPSSODescriptor');
  if (!idp || more.length) throw fail('it needs exactly one IDPSSODescriptor');

  const ssoUrl = childElements(idp, MD, 'SingleSignOnService').find((service) => attribute(service, 'Binding') === REDIRECT_BINDING);
  const certificates = childElements(idp, MD, 'KeyDescriptor')
    .filter((descriptor) => (attribute(descriptor, 'use') ?? 'signing') === 'signing')
    .flatMap((descriptor) => childElements(descriptor, NS.dsig, 'KeyInfo'))
    .flatMap((keyInfo) => childElements(keyInfo, NS.dsig, 'X509Data'))
    .flatMap((data) => childElements(data, NS.dsig, 'X509Certificate'))
    .map((certificate) => text(certificate).replace(/\s+/g, ''));
  if (!certificates.length) throw fail('it lists no signing certificate');
  return { entityId, ssoUrl: ssoUrl ? (attribute(ssoUrl, 'Location') ?? null) : null, certificates: [...new Set(certificates)] };
}
