import type { SsoConnection } from '../../modules/connection/connection.entity.js';
import { samlServiceProvider } from '../../modules/connection/connection.urls.js';
import { escapeXml } from '../../modules/connection/saml/saml-xml.js';


/**
 * SAML 2.0 metadata of Gatehouse as the service provider of one connection (SAML Metadata §2.4.4):
 * its entity id and ACS (HTTP-POST), what it wants signed, and the NameID it prefers. IdPs
 * that import metadata (Entra ID, ADFS, Okta's "SAML metadata" option) need nothing else.
 */
export function serviceProviderMetadata(issuer: string, connection: SsoConnection): string {
  const { spEntityId, acsUrl } = samlServiceProvider(issuer, connection.id);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${escapeXml(spEntityId)}">`,
    `  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="${connection.requireSignedAssertion}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`,
    '    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>',
    '    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>',
    `    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(acsUrl)}" index="0" isDefault="true"/>`,
    '  </md:SPSSODescriptor>',
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}
