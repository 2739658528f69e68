import type { KeyObject } from 'node:crypto';
import { checkAssertion, isAssertionElement } from './saml-assertion.js';
import { decryptAssertion, decryptedDocument, decryptionFailed, decryptionKeyObjects, readEncryptedAssertion } from './saml-encryption.js';
import { certificateToPem, verifiedAssertion, verifyResponseSignature } from './saml-signature.js';
import { checkStructure, type ResponseStructure } from './saml-structure.js';
import {
  samlFailure,
  type SamlFailure,
  type SamlValidationPolicy,
  type SamlValidationResult,
} from './saml-validation.types.js';
import { allElements, attribute, childElements, clip, decodeSamlResponse, NS, parseXml, text, type XmlElement } from './saml-xml.js';

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
 *
 * An EncryptedAssertion (with policy.decryptionKeys) goes through the same layers twice: the
 * received document's (where a Response signature is verified, over the ciphertext, before
 * anything is decrypted), then the decrypted document's, with the Assertion in its place.
 */
export async function validateSamlResponse(samlResponseBase64: string, policy: SamlValidationPolicy): Promise<SamlValidationResult> {
  const certificates = checkedCertificates(policy);
  const decryptionKeys = decryptionKeyObjects(policy.decryptionKeys);
  const skewMs = policy.clockSkewMs ?? DEFAULT_SKEW_MS;
  if (!(skewMs >= 0 && skewMs <= MAX_SKEW_MS)) throw new RangeError(`clockSkewMs must be within 0..${MAX_SKEW_MS}`);
  if (policy.maxBytes !== undefined && !(Number.isInteger(policy.maxBytes) && policy.maxBytes > 0)) {
    throw new RangeError('maxBytes must be a positive integer');
  }

  const xml = decodeSamlResponse(samlResponseBase64, policy.maxBytes);
  if (typeof xml !== 'string') return xml;
  const root = parseXml(xml);
  if ('ok' in root) return root;
  const received = checkStructure(root, policy.allowSha1, decryptionKeys.length > 0);
  if ('ok' in received) {
    // An IdP that refuses a sign-in answers with an error status and no assertion at all: report
    // its status, not the missing assertion (a refusal either way).
    const noAssertion = received.reason === 'not_one_assertion' && !allElements(root).some((element) => element.localName === 'Assertion' || element.localName === 'EncryptedAssertion');
    const status = noAssertion ? topLevelStatus(root) : null;
    return status !== null && status !== SUCCESS ? samlFailure('status', `the IdP answered ${clip(status)}`) : received;
  }
  const { response, responseSigned } = received;

  // Unsigned error responses are common: report the IdP's status rather than a missing signature.
  const status = topLevelStatus(response);
  if (status !== SUCCESS) return samlFailure('status', `the IdP answered ${clip(status ?? '(no status)')}`);

  let document: OpenedDocument = { xml, structure: received, opaque: false };
  if (received.encrypted) {
    if (policy.requireSignedResponse && !responseSigned) return samlFailure('unsigned', 'the Response is not signed');
    const decrypted = openEncryptedAssertion(xml, received, certificates, decryptionKeys, policy.allowSha1);
    if ('ok' in decrypted) return decrypted;
    document = decrypted;
  }
  const { assertionSigned } = document.structure;
  // Until the decrypted assertion's signature verifies, a refusal of a malleable plaintext that
  // nothing vouched for says no more than a failed decryption.
  const unverified = (failure: SamlFailure) => (document.opaque ? decryptionFailed(true) : failure);

  if (!responseSigned && !assertionSigned) return unverified(samlFailure('unsigned', 'neither the Response nor the Assertion is signed'));
  if (policy.requireSignedAssertion && !assertionSigned) return unverified(samlFailure('unsigned', 'the Assertion is not signed'));
  if (policy.requireSignedResponse && !responseSigned) return samlFailure('unsigned', 'the Response is not signed');

  let assertion: XmlElement;
  if (received.encrypted && !assertionSigned) {
    // Authenticated by the Response signature, verified over the ciphertext it was decrypted from.
    assertion = document.structure.assertion;
  } else {
    // Verified over the document parsed above (node-saml's verifier), not parsed again.
    const verified = verifiedAssertion({
      xml: document.xml,
      response: document.structure.response,
      assertion: document.structure.assertion,
      certificates,
      // The decrypted document no longer carries the Response signature, verified before.
      responseSigned: responseSigned && !received.encrypted,
      assertionSigned,
    });
    if ('ok' in verified) return unverified(verified);
    assertion = verified;
  }
  if (!isAssertionElement(assertion) || attribute(assertion, 'ID') !== attribute(document.structure.assertion, 'ID')) {
    return unverified(samlFailure('bad_signature', 'the verified assertion is not the one in the document'));
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

interface OpenedDocument {
  xml: string;
  structure: ResponseStructure;
  /** Decrypted from a malleable ciphertext (AES-CBC) that no verified signature covered. */
  opaque: boolean;
}

/**
 * The received document's EncryptedAssertion → the decrypted document, checked like a received
 * one: algorithms first, then the Response signature when there is one (so that a ciphertext the
 * IdP signed is never altered before it is decrypted), then decryption with each key in turn.
 */
function openEncryptedAssertion(
  xml: string,
  received: ResponseStructure,
  certificates: string[],
  keys: KeyObject[],
  allowSha1: boolean,
): OpenedDocument | SamlFailure {
  const parts = readEncryptedAssertion(received.assertion);
  if ('ok' in parts) return parts;
  if (received.responseSigned) {
    const verified = verifyResponseSignature(xml, received.response, certificates);
    if ('ok' in verified) return verified;
  }
  const opaque = parts.data.malleable && !received.responseSigned;
  const plaintext = decryptAssertion(parts, keys);
  if (plaintext === null) return decryptionFailed(opaque);
  const decrypted = decryptedDocument(xml, plaintext);
  if ('ok' in decrypted) return opaque ? decryptionFailed(true) : decrypted;
  // The same structure rules (one assertion, unique IDs, signature placement and algorithms),
  // now over the decrypted content in its place; an EncryptedAssertion inside is not accepted.
  const structure = checkStructure(decrypted.root, allowSha1);
  if ('ok' in structure) return opaque ? decryptionFailed(true) : structure;
  return { xml: decrypted.xml, structure, opaque };
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
