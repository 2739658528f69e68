// The identity provider of bench/sso, in the bench process: it reads the AuthnRequest Gatehouse
// sends the browser to it with (HTTP-Redirect binding: DEFLATE, base64, URL parameters) and
// answers with a SAML 2.0 Response for that request, signed with xml-crypto (a dependency of the
// project) the way IdPs sign: RSA-SHA256, exclusive C14N, enveloped signature after the Issuer,
// the signing certificate in KeyInfo. Nothing is pre-signed: a response names the request it
// answers (InResponseTo), so it can only be made once the request exists.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RESPONSE_XPATH = "/*[local-name(.)='Response']";
const ASSERTION_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";
/** What a response is valid for around now: NotBefore now − 5 min, NotOnOrAfter now + 5 min. */
const VALIDITY_MS = 5 * 60_000;

/** Which elements the IdP signs: `assertion` (Entra ID's and ADFS's default), `response`, or `both`. */
export const SIGN_MODES = ['assertion', 'response', 'both'];

/** An RSA-2048 key with a self-signed certificate (PEM) around it, as an IdP's signing key. */
export async function createIdpKey(commonName) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pems = await generate([{ name: 'commonName', value: commonName }], { keyPair: { privateKey, publicKey }, algorithm: 'sha256' });
  return { privateKey, cert: pems.cert };
}

/**
 * The AuthnRequest of the IdP URL Gatehouse redirected the browser to: its ID, the ACS and SP
 * entity id it names, and the RelayState to post back.
 */
export function readAuthnRequest(location) {
  const url = location instanceof URL ? location : new URL(location);
  const encoded = url.searchParams.get('SAMLRequest');
  if (!encoded) throw new Error(`no SAMLRequest in ${url.toString().slice(0, 200)}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const requestId = /\bID="([^"]+)"/.exec(xml)?.[1];
  const acsUrl = /\bAssertionConsumerServiceURL="([^"]+)"/.exec(xml)?.[1];
  const spEntityId = /<saml:Issuer>([^<]+)<\/saml:Issuer>/.exec(xml)?.[1];
  if (!requestId || !acsUrl || !spEntityId) throw new Error(`unexpected AuthnRequest: ${xml.slice(0, 300)}`);
  return { requestId, acsUrl: unescape(acsUrl), spEntityId: unescape(spEntityId), relayState: url.searchParams.get('RelayState'), xml };
}

const escape = (value) => String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unescape = (value) => value.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const newId = (prefix) => `${prefix}${randomBytes(16).toString('hex')}`;

export class BenchIdp {
  /**
   * @param {string} entityId the IdP's entity id (the Issuer of its responses)
   * @param {{ privateKey: string, cert: string }} key
   * @param {'assertion'|'response'|'both'} sign
   */
  constructor(entityId, key, sign = 'assertion') {
    if (!SIGN_MODES.includes(sign)) throw new Error(`sign must be one of ${SIGN_MODES.join(', ')}`);
    this.entityId = entityId;
    this.key = key;
    this.sign = sign;
  }

  /**
   * The base64 SAMLResponse answering `requestId` for `email` (also the NameID), with the
   * attributes Gatehouse reads (email, firstName, lastName), unique Response and Assertion IDs.
   */
  response({ requestId, acsUrl, spEntityId, email, nameId = email, givenName = 'Bench', familyName = 'User', now = Date.now() }) {
    const instant = new Date(now).toISOString();
    const notBefore = new Date(now - VALIDITY_MS).toISOString();
    const notOnOrAfter = new Date(now + VALIDITY_MS).toISOString();
    const attribute = (name, value) =>
      `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue>${escape(value)}</saml:AttributeValue></saml:Attribute>`;
    const xml =
      `<samlp:Response xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="${newId('_resp')}" Version="2.0" IssueInstant="${instant}" Destination="${escape(acsUrl)}" InResponseTo="${escape(requestId)}">` +
      `<saml:Issuer>${escape(this.entityId)}</saml:Issuer>` +
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
      `<saml:Assertion xmlns:saml="${ASSERTION}" ID="${newId('_assert')}" Version="2.0" IssueInstant="${instant}">` +
      `<saml:Issuer>${escape(this.entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${escape(nameId)}</saml:NameID>` +
      '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
      `<saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escape(acsUrl)}" InResponseTo="${escape(requestId)}"/>` +
      '</saml:SubjectConfirmation></saml:Subject>' +
      `<saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escape(spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="${newId('_session')}"><saml:AuthnContext>` +
      '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>' +
      '</saml:AuthnContext></saml:AuthnStatement>' +
      `<saml:AttributeStatement>${attribute('email', email)}${attribute('firstName', givenName)}${attribute('lastName', familyName)}</saml:AttributeStatement>` +
      '</saml:Assertion></samlp:Response>';
    let signed = xml;
    // The assertion first: a Response signature then covers the signed assertion, as IdPs do it.
    if (this.sign !== 'response') signed = this.#signElement(signed, ASSERTION_XPATH);
    if (this.sign !== 'assertion') signed = this.#signElement(signed, RESPONSE_XPATH);
    return Buffer.from(signed, 'utf8').toString('base64');
  }

  #signElement(xml, xpath) {
    const signature = new SignedXml({
      privateKey: this.key.privateKey,
      publicCert: this.key.cert,
      signatureAlgorithm: RSA_SHA256,
      canonicalizationAlgorithm: EXC_C14N,
      getKeyInfoContent: SignedXml.getKeyInfoContent,
    });
    signature.addReference({ xpath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256 });
    signature.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
    return signature.getSignedXml();
  }
}
