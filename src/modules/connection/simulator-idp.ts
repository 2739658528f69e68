import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { selfSignedKey } from '../../crypto/self-signed.js';
import { SignedXml } from 'xml-crypto';
import { attribute, base64Value, childElements, escapeXml, is, NS, parseXml, refuseUnsafeXml, text, utf8 } from './saml/saml-xml.js';

/**
 * Gatehouse's built-in SAML IdP for DEVELOPMENT environments (SIMULATOR connections): it reads
 * the AuthnRequest Gatehouse sent, and answers with a real signed Response, or with one that
 * carries a chosen fault, which then goes through the real ACS and its validator. Nothing here
 * is trusted by the SP side: the ACS checks what this writes like any IdP's answer.
 */

/**
 * What the developer may ask the simulated IdP to answer. `expect` is the reason the ACS must
 * refuse it with (`sso.<reason>`); null where it signs the person in.
 */
export const SIMULATOR_SCENARIOS = {
  success: { label: 'Success', expect: null },
  idp_initiated: { label: 'IdP-initiated (answers no request)', expect: null },
  guest_domain: { label: 'Guest: email outside the organization\'s domains', expect: 'domain_not_allowed' },
  expired: { label: 'Fault: expired assertion', expect: 'expired' },
  not_yet_valid: { label: 'Fault: assertion not yet valid', expect: 'not_yet_valid' },
  wrong_audience: { label: 'Fault: wrong audience', expect: 'audience' },
  wrong_recipient: { label: 'Fault: wrong recipient', expect: 'recipient' },
  unsigned: { label: 'Fault: unsigned', expect: 'unsigned' },
  other_key: { label: 'Fault: signed by another key', expect: 'bad_signature' },
  sha1: { label: 'Fault: SHA-1 signature', expect: 'weak_algorithm' },
  missing_email: { label: 'Fault: no email attribute, opaque NameID', expect: 'no_email' },
  error_status: { label: 'Fault: error status (Responder)', expect: 'status' },
} as const satisfies Record<string, { label: string; expect: string | null }>;

export type SimulatorScenario = keyof typeof SIMULATOR_SCENARIOS;

export const isSimulatorScenario = (value: string | undefined): value is SimulatorScenario => value !== undefined && Object.hasOwn(SIMULATOR_SCENARIOS, value);

/** Where guest_domain moves the address: a domain no organization can have verified. */
export const GUEST_DOMAIN = 'outside.test';

/** The person the developer typed into the simulator. */
export interface SimulatedPerson {
  email: string;
  givenName: string | null;
  familyName: string | null;
  groups: string[];
  /** Further attributes, by name, in the order typed (a name may repeat: several values). */
  attributes: [name: string, value: string][];
}

/** The simulated IdP's signing key (PKCS#8 PEM) and its self-signed certificate (PEM). */
export interface SimulatorKey {
  privateKey: string;
  certificate: string;
}

/** Ten years: a development connection should not stop working because a test certificate ran out. */
const CERTIFICATE_DAYS = 3650;

/** A new RSA-2048 key and a self-signed certificate (SHA-256) around it. */
export async function generateSimulatorKey(commonName: string, now = new Date()): Promise<SimulatorKey> {
  const { privateKey, certificate } = await selfSignedKey(commonName, { days: CERTIFICATE_DAYS, usage: 'signing' }, now);
  return { privateKey, certificate };
}


let throwawayKey: Promise<string> | undefined;
/** A key nobody trusts, for the `other_key` fault: one per process. */
function otherKey(): Promise<string> {
  throwawayKey ??= promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).then((pair) => pair.privateKey);
  return throwawayKey;
}

// ── The AuthnRequest ──

/** What the simulator reads of an AuthnRequest (HTTP-Redirect binding). */
export interface SimulatedAuthnRequest {
  id: string;
  issuer: string | null;
  acsUrl: string | null;
  forceAuthn: boolean;
}

/** An HTTP-Redirect SAMLRequest is a few hundred bytes; these caps leave room and bound the work. */
const MAX_ENCODED_REQUEST = 16 * 1024;
const MAX_INFLATED_REQUEST = 64 * 1024;
/** xs:ID (an NCName), of a sane length: it is echoed into the answer. */
const XS_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

/**
 * The SAMLRequest query parameter → the request, or why it cannot be read: base64, DEFLATE
 * (bounded), strict UTF-8, no DTD of any kind, a strict parse, a protocol AuthnRequest with an ID.
 */
export function readAuthnRequest(encoded: string): SimulatedAuthnRequest | { error: string } {
  if (encoded.length > MAX_ENCODED_REQUEST) return { error: 'The SAMLRequest is too large' };
  const bytes = base64Value(encoded);
  if (!bytes) return { error: 'The SAMLRequest is not base64' };
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes, { maxOutputLength: MAX_INFLATED_REQUEST });
  } catch {
    return { error: 'The SAMLRequest is not DEFLATE-compressed (HTTP-Redirect binding), or is too large' };
  }
  const xml = utf8(inflated);
  if (xml === null) return { error: 'The SAMLRequest is not UTF-8' };
  const safe = refuseUnsafeXml(xml);
  if (typeof safe !== 'string') return { error: safe.detail };
  const root = parseXml(safe);
  if ('ok' in root) return { error: root.detail };
  if (!is(root, NS.protocol, 'AuthnRequest')) return { error: 'The SAMLRequest is not an AuthnRequest' };
  const id = attribute(root, 'ID');
  if (!id || !XS_ID.test(id)) return { error: 'The AuthnRequest has no usable ID' };
  const issuers = childElements(root, NS.assertion, 'Issuer');
  return {
    id,
    issuer: issuers.length === 1 ? text(issuers[0]!) : null,
    acsUrl: attribute(root, 'AssertionConsumerServiceURL'),
    forceAuthn: attribute(root, 'ForceAuthn') === 'true',
  };
}

// ── The Response ──

const PROTOCOL = NS.protocol;
const ASSERTION = NS.assertion;
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const UNSPECIFIED_NAME = 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const ALGORITHMS = {
  sha256: { signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
  sha1: { signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' },
} as const;
const MINUTE = 60_000;

export interface SimulatedResponseInput {
  scenario: SimulatorScenario;
  /** The simulated IdP's entity id (the connection's idpEntityId). */
  idpEntityId: string;
  /** The SP side of the connection. */
  spEntityId: string;
  acsUrl: string;
  /** The AuthnRequest answered; null when there was none (the answer is then unsolicited). */
  inResponseTo: string | null;
  person: SimulatedPerson;
  key: SimulatorKey;
  now?: Date;
}

const newId = () => `_${randomBytes(20).toString('hex')}`;

/** The Response the scenario calls for (XML text), signed unless the fault is not to be. */
export async function buildSimulatedResponse(input: SimulatedResponseInput): Promise<string> {
  const { scenario, person } = input;
  const now = (input.now ?? new Date()).getTime();
  const at = (offset: number) => new Date(now + offset).toISOString();
  const inResponseTo = scenario === 'idp_initiated' ? null : input.inResponseTo;
  const irt = inResponseTo ? ` InResponseTo="${escapeXml(inResponseTo)}"` : '';
  const issuer = `<saml:Issuer>${escapeXml(input.idpEntityId)}</saml:Issuer>`;
  const open =
    `<samlp:Response xmlns:samlp="${PROTOCOL}" xmlns:saml="${ASSERTION}" ID="${newId()}" Version="2.0" IssueInstant="${at(0)}"` +
    ` Destination="${escapeXml(input.acsUrl)}"${irt}>${issuer}`;

  if (scenario === 'error_status') {
    // As IdPs answer a failed sign-in: an unsigned Response with a status and no assertion.
    return (
      `${open}<samlp:Status><samlp:StatusCode Value="${STATUS}Responder"><samlp:StatusCode Value="${STATUS}AuthnFailed"/></samlp:StatusCode>` +
      '<samlp:StatusMessage>The simulated IdP refused the sign-in</samlp:StatusMessage></samlp:Status></samlp:Response>'
    );
  }

  const email = scenario === 'guest_domain' ? `${person.email.slice(0, person.email.lastIndexOf('@') + 1) || 'guest@'}${GUEST_DOMAIN}` : person.email;
  // missing_email: an opaque, stable NameID and no email attribute, as an IdP set up with persistent ids sends.
  const nameId =
    scenario === 'missing_email'
      ? { format: PERSISTENT_FORMAT, value: `sim-${createHash('sha256').update(person.email.toLowerCase()).digest('hex').slice(0, 32)}` }
      : { format: EMAIL_FORMAT, value: email };
  const window = {
    issued: scenario === 'expired' ? at(-15 * MINUTE) : at(0),
    notBefore: scenario === 'not_yet_valid' ? at(10 * MINUTE) : scenario === 'expired' ? at(-15 * MINUTE) : at(-30_000),
    notOnOrAfter: scenario === 'expired' ? at(-10 * MINUTE) : scenario === 'not_yet_valid' ? at(15 * MINUTE) : at(5 * MINUTE),
  };
  const audience = scenario === 'wrong_audience' ? 'https://wrong-audience.invalid/sp' : input.spEntityId;
  const recipient = scenario === 'wrong_recipient' ? 'https://wrong-recipient.invalid/acs' : input.acsUrl;

  const attributes: [string, string][] = [
    ...(scenario === 'missing_email' ? [] : ([['email', email]] as [string, string][])),
    ...(person.givenName ? ([['firstName', person.givenName]] as [string, string][]) : []),
    ...(person.familyName ? ([['lastName', person.familyName]] as [string, string][]) : []),
    ...person.groups.map((group) => ['groups', group] as [string, string]),
    ...person.attributes,
  ];
  const byName = new Map<string, string[]>();
  for (const [name, value] of attributes) byName.set(name, [...(byName.get(name) ?? []), value]);
  const statement = byName.size
    ? '<saml:AttributeStatement>' +
      [...byName]
        .map(([name, values]) => `<saml:Attribute Name="${escapeXml(name)}" NameFormat="${UNSPECIFIED_NAME}">${values.map((value) => `<saml:AttributeValue>${escapeXml(value)}</saml:AttributeValue>`).join('')}</saml:Attribute>`)
        .join('') +
      '</saml:AttributeStatement>'
    : '';

  const xml =
    `${open}<samlp:Status><samlp:StatusCode Value="${STATUS}Success"/></samlp:Status>` +
    `<saml:Assertion ID="${newId()}" Version="2.0" IssueInstant="${window.issued}">${issuer}` +
    `<saml:Subject><saml:NameID Format="${nameId.format}">${escapeXml(nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData${irt} NotOnOrAfter="${window.notOnOrAfter}" Recipient="${escapeXml(recipient)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${window.notBefore}" NotOnOrAfter="${window.notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${window.issued}" SessionIndex="${newId()}"><saml:AuthnContext>` +
    '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
    `${statement}</saml:Assertion></samlp:Response>`;

  if (scenario === 'unsigned') return xml;
  // other_key: the certificate in KeyInfo is the trusted one, as a forger would write it; the signature is not.
  const signingKey = scenario === 'other_key' ? await otherKey() : input.key.privateKey;
  const algorithm = scenario === 'sha1' ? ALGORITHMS.sha1 : ALGORITHMS.sha256;
  // The Assertion, then the Response around it (its signature covers the signed assertion).
  const signedAssertion = sign(xml, "/*[local-name(.)='Response']/*[local-name(.)='Assertion']", signingKey, input.key.certificate, algorithm);
  return sign(signedAssertion, "/*[local-name(.)='Response']", signingKey, input.key.certificate, algorithm);
}

function sign(xml: string, xpath: string, privateKey: string, certificate: string, algorithm: (typeof ALGORITHMS)[keyof typeof ALGORITHMS]): string {
  const signed = new SignedXml({
    privateKey,
    publicCert: certificate,
    signatureAlgorithm: algorithm.signature,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: SignedXml.getKeyInfoContent,
  });
  signed.addReference({ xpath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: algorithm.digest });
  // Right after the element's Issuer, where the SAML schema puts ds:Signature.
  signed.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signed.getSignedXml();
}
