import { checkAssertion, isAssertionElement } from './saml-assertion.js';
import { certificateToPem, verifiedAssertionXml } from './saml-signature.js';
import { checkStructure } from './saml-structure.js';
import {
  samlFailure,
  type SamlValidationPolicy,
  type SamlValidationResult,
} from './saml-validation.types.js';
import { attribute, childElements, clip, decodeSamlResponse, NS, parseXml, text, type XmlElement } from './saml-xml.js';

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const DEFAULT_SKEW_MS = 120_000;
const MAX_SKEW_MS = 600_000;

/**
 * Validates a SAMLResponse posted to the ACS (the base64 form field) against one IdP's policy.
 * Bad input of any kind is a failure with a stable reason, never an exception; a policy that
 * cannot be right (no certificate, an unbounded skew) throws, as the caller's bug.
 *
 * Layers: refusals before parsing (size, encoding, DTDs); a structural check that makes XML
 * signature wrapping impossible; the Status; node-saml's signature verification with the
 * policy's certificates only; then every profile rule read from the verified assertion. Replay
 * and InResponseTo matching are the caller's, with the returned ids.
 */
export async function validateSamlResponse(samlResponseBase64: string, policy: SamlValidationPolicy): Promise<SamlValidationResult> {
  const certificates = checkedCertificates(policy);
  const skewMs = policy.clockSkewMs ?? DEFAULT_SKEW_MS;
  if (!(skewMs >= 0 && skewMs <= MAX_SKEW_MS)) throw new RangeError(`clockSkewMs must be within 0..${MAX_SKEW_MS}`);
  if (policy.maxBytes !== undefined && !(Number.isInteger(policy.maxBytes) && policy.maxBytes > 0)) {
    throw new RangeError('maxBytes must be a positive integer');
  }

  const xml = decodeSamlResponse(samlResponseBase64, policy.maxBytes);
  if (typeof xml !== 'string') return xml;
  const root = parseXml(xml);
  if ('ok' in root) return root;
  const structure = checkStructure(root, policy.allowSha1);
  if ('ok' in structure) return structure;
  const { response, responseSigned, assertionSigned } = structure;

  // Unsigned error responses are common: report the IdP's status rather than a missing signature.
  const status = topLevelStatus(response);
  if (status !== SUCCESS) return samlFailure('status', `the IdP answered ${clip(status ?? '(no status)')}`);

  if (!responseSigned && !assertionSigned) return samlFailure('unsigned', 'neither the Response nor the Assertion is signed');
  if (policy.requireSignedAssertion && !assertionSigned) return samlFailure('unsigned', 'the Assertion is not signed');
  if (policy.requireSignedResponse && !responseSigned) return samlFailure('unsigned', 'the Response is not signed');

  const verified = await verifiedAssertionXml({
    xml,
    certificates,
    spEntityId: policy.spEntityId,
    acsUrl: policy.acsUrl,
    responseSigned,
    assertionSigned,
    // node-saml reads the system clock; with another `now` its timing would disagree with ours.
    clockSkewMs: policy.now ? -1 : skewMs,
  });
  if (typeof verified !== 'string') return verified;
  const assertion = parseXml(verified);
  if ('ok' in assertion) return assertion;
  if (!isAssertionElement(assertion) || attribute(assertion, 'ID') !== attribute(structure.assertion, 'ID')) {
    return samlFailure('bad_signature', 'the verified assertion is not the one in the document');
  }

  // Response-level fields: authenticated when the Response is signed (the structure check made
  // the root the signed element), otherwise they can only make us refuse.
  const destination = attribute(response, 'Destination');
  if (destination !== null && destination !== policy.acsUrl) {
    return samlFailure('destination', `Destination ${clip(destination)} is not ${policy.acsUrl}`);
  }
  const responseIssuers = childElements(response, NS.assertion, 'Issuer');
  if (responseIssuers.length > 1) return samlFailure('malformed', 'the Response has more than one Issuer');
  if (responseIssuers.length === 1 && text(responseIssuers[0]!) !== policy.idpEntityId) {
    return samlFailure('issuer', `Response Issuer ${clip(text(responseIssuers[0]!))} is not ${policy.idpEntityId}`);
  }

  return checkAssertion(assertion, {
    idpEntityId: policy.idpEntityId,
    spEntityId: policy.spEntityId,
    acsUrl: policy.acsUrl,
    nowMs: (policy.now ?? new Date()).getTime(),
    skewMs,
    responseInResponseTo: attribute(response, 'InResponseTo'),
    responseSigned,
  });
}

function topLevelStatus(response: XmlElement): string | null {
  const statuses = childElements(response, NS.protocol, 'Status');
  if (statuses.length !== 1) return null;
  const codes = childElements(statuses[0]!, NS.protocol, 'StatusCode');
  if (codes.length !== 1) return null;
  const value = attribute(codes[0]!, 'Value');
  // The second-level code says why (AuthnFailed, NoPassive...): worth its place in the detail.
  const second = childElements(codes[0]!, NS.protocol, 'StatusCode')[0];
  const secondValue = second ? attribute(second, 'Value') : null;
  return value === SUCCESS || !secondValue ? value : `${value} / ${secondValue}`;
}

function checkedCertificates(policy: SamlValidationPolicy): string[] {
  for (const field of ['idpEntityId', 'spEntityId', 'acsUrl'] as const) {
    if (!policy[field]) throw new TypeError(`SamlValidationPolicy.${field} is required`);
  }
  if (policy.idpCertificates.length === 0) throw new TypeError('SamlValidationPolicy.idpCertificates is empty');
  return policy.idpCertificates.map(certificateToPem);
}
