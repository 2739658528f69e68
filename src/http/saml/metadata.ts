import type { SsoConnection } from '../../modules/connection/connection.entity.js';
import { samlServiceProvider } from '../../modules/connection/connection.urls.js';
import { escapeXml } from '../../modules/connection/saml/saml-xml.js';
import { SpKeyUse, type SpKey } from '../../modules/connection/sp-key.entity.js';

/** Encryption Gatehouse asks IdPs for, best first (the validator's allow-list). */
const ENCRYPTION_METHODS = ['http://www.w3.org/2009/xmlenc11#aes256-gcm', 'http://www.w3.org/2009/xmlenc11#aes128-gcm', 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p'];

function keyDescriptor(key: Pick<SpKey, 'use' | 'certificate'>): string {
  const der = key.certificate.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const use = key.use === SpKeyUse.SIGNING ? 'signing' : 'encryption';
  const methods = key.use === SpKeyUse.ENCRYPTION ? ENCRYPTION_METHODS.map((algorithm) => `<md:EncryptionMethod Algorithm="${algorithm}"/>`).join('') : '';
  return `    <md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${methods}</md:KeyDescriptor>`;
}


/**
 * SAML 2.0 metadata of Gatehouse as the service provider of one connection (SAML Metadata §2.4.4):
 * its entity id and ACS (HTTP-POST), what it wants signed, the NameID it prefers, and its SP
 * keys: every signing certificate (the IdP verifies signed AuthnRequests with them, so a new
 * one is listed before it signs) and every encryption certificate. IdPs that import metadata
 * (Entra ID, ADFS, Okta's "SAML metadata" option) need nothing else.
 */
export function serviceProviderMetadata(issuer: string, connection: SsoConnection, keys: readonly Pick<SpKey, 'use' | 'certificate'>[] = []): string {
  const { spEntityId, acsUrl } = samlServiceProvider(issuer, connection.id);
  const signs = keys.some((key) => key.use === SpKeyUse.SIGNING);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${escapeXml(spEntityId)}">`,
    `  <md:SPSSODescriptor AuthnRequestsSigned="${signs}" WantAssertionsSigned="${connection.requireSignedAssertion}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`,
    ...keys.map(keyDescriptor),
    '    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>',
    '    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>',
    `    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(acsUrl)}" index="0" isDefault="true"/>`,
    '  </md:SPSSODescriptor>',
    '</md:EntityDescriptor>',
    '',
  ].join('\n');
}
