import { samlFailure, type SamlFailure } from './saml-validation.types.js';
import { allElements, attribute, childElements, clip, is, NS, type XmlElement } from './saml-xml.js';

export interface ResponseStructure {
  response: XmlElement;
  /** The one Assertion, or the one EncryptedAssertion when `encrypted`. */
  assertion: XmlElement;
  encrypted: boolean;
  responseSigned: boolean;
  /** Always false when `encrypted`: a signature of the Assertion is inside the ciphertext. */
  assertionSigned: boolean;
}

const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
// What xml-crypto 6 (node-saml's verifier) implements, less SHA-1. RSA-SHA384 and ECDSA are
// not listed because it cannot verify them.
const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const DIGEST_ALGORITHMS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const CANONICALIZATIONS = new Set([
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
]);
const TRANSFORMS = new Set([...CANONICALIZATIONS, 'http://www.w3.org/2000/09/xmldsig#enveloped-signature']);
// xml-crypto reads references by any of these attribute names.
const ID_ATTRIBUTES = new Set(['ID', 'Id', 'id']);

/**
 * The shape that leaves signature wrapping (XSW) nowhere to hide, checked on the whole document
 * before any signature is verified: one Response at the root, exactly one Assertion element
 * anywhere (none tucked in Extensions, a ds:Object or another element), unique IDs, and
 * signatures only as direct children of the Response or the Assertion, each referencing exactly
 * its parent with allowed algorithms. The signed element is then necessarily the element we read.
 *
 * With `acceptEncrypted`, the one assertion may be an EncryptedAssertion (unsigned itself: only
 * the Response may carry a signature then); the decrypted document is checked again, without.
 */
export function checkStructure(root: XmlElement, allowSha1: boolean, acceptEncrypted = false): ResponseStructure | SamlFailure {
  if (!is(root, NS.protocol, 'Response')) {
    return samlFailure('malformed', `the root element is not a SAML 2.0 protocol Response (${clip(root.localName)})`);
  }
  if (attribute(root, 'Version') !== '2.0') return samlFailure('malformed', 'the Response is not SAML version 2.0');

  const assertions: XmlElement[] = [];
  const signatures: XmlElement[] = [];
  const ids = new Set<string>();
  for (const element of allElements(root)) {
    if (element !== root && element.localName === 'Response') {
      return samlFailure('malformed', 'a Response element is nested inside the Response');
    }
    if (element.localName === 'Assertion' || element.localName === 'EncryptedAssertion') assertions.push(element);
    if (is(element, NS.dsig, 'Signature')) signatures.push(element);
    if (is(element, NS.dsig, 'Object')) return samlFailure('malformed', 'a ds:Object element is not accepted');
    for (const attr of Array.from(element.attributes)) {
      if (!ID_ATTRIBUTES.has(attr.localName)) continue;
      if (ids.has(attr.value)) return samlFailure('malformed', `the ID ${clip(attr.value)} is used more than once`);
      ids.add(attr.value);
    }
  }

  if (assertions.length !== 1) {
    return samlFailure('not_one_assertion', `the document holds ${assertions.length} assertions; exactly one is accepted`);
  }
  const assertion = assertions[0]!;
  if (assertion.parentNode !== root) return samlFailure('not_one_assertion', 'the assertion is not a child of the Response');
  const encrypted = is(assertion, NS.assertion, 'EncryptedAssertion');
  if (encrypted && !acceptEncrypted) {
    return samlFailure('encrypted_not_supported', 'the assertion is encrypted and no decryption key is configured');
  }
  if (!encrypted) {
    if (!is(assertion, NS.assertion, 'Assertion')) return samlFailure('malformed', 'the assertion is not in the SAML 2.0 namespace');
    if (attribute(assertion, 'Version') !== '2.0') return samlFailure('malformed', 'the Assertion is not SAML version 2.0');
    if (!attribute(assertion, 'ID')) return samlFailure('malformed', 'the Assertion has no ID');
  }

  let responseSigned = false;
  let assertionSigned = false;
  for (const signature of signatures) {
    const parent = signature.parentNode;
    if (parent !== root && (parent !== assertion || encrypted)) {
      return samlFailure('malformed', 'a signature is placed outside the Response and the Assertion');
    }
    if ((parent === root && responseSigned) || (parent === assertion && assertionSigned)) {
      return samlFailure('malformed', 'an element carries more than one signature');
    }
    const problem = checkSignatureShape(signature, parent as XmlElement, allowSha1);
    if (problem) return problem;
    if (parent === root) responseSigned = true;
    else assertionSigned = true;
  }
  return { response: root, assertion, encrypted, responseSigned, assertionSigned };
}

function checkSignatureShape(signature: XmlElement, parent: XmlElement, allowSha1: boolean): SamlFailure | null {
  const signedInfo = only(signature, 'SignedInfo');
  if (!signedInfo) return samlFailure('malformed', 'a signature has no single SignedInfo');
  const canonicalization = only(signedInfo, 'CanonicalizationMethod');
  const method = only(signedInfo, 'SignatureMethod');
  const references = childElements(signedInfo, NS.dsig, 'Reference');
  if (!canonicalization || !method || references.length !== 1) {
    return samlFailure('malformed', 'a signature must have one CanonicalizationMethod, SignatureMethod and Reference');
  }
  const reference = references[0]!;
  const parentId = attribute(parent, 'ID');
  if (!parentId || attribute(reference, 'URI') !== `#${parentId}`) {
    return samlFailure('bad_signature', 'a signature does not reference the element that contains it');
  }
  const digest = only(reference, 'DigestMethod');
  if (!digest) return samlFailure('malformed', 'a signature reference has no single DigestMethod');
  const transforms = only(reference, 'Transforms');
  const transformList = transforms ? childElements(transforms, NS.dsig, 'Transform') : [];

  return (
    checkAlgorithm(attribute(canonicalization, 'Algorithm'), CANONICALIZATIONS, null, allowSha1, 'canonicalization') ??
    checkAlgorithm(attribute(method, 'Algorithm'), SIGNATURE_ALGORITHMS, SHA1_SIGNATURE, allowSha1, 'signature') ??
    checkAlgorithm(attribute(digest, 'Algorithm'), DIGEST_ALGORITHMS, SHA1_DIGEST, allowSha1, 'digest') ??
    transformList.reduce<SamlFailure | null>(
      (problem, transform) => problem ?? checkAlgorithm(attribute(transform, 'Algorithm'), TRANSFORMS, null, allowSha1, 'transform'),
      null,
    )
  );
}

function checkAlgorithm(
  algorithm: string | null,
  allowed: Set<string>,
  sha1: string | null,
  allowSha1: boolean,
  kind: string,
): SamlFailure | null {
  if (algorithm !== null && allowed.has(algorithm)) return null;
  if (algorithm !== null && algorithm === sha1) {
    return allowSha1 ? null : samlFailure('weak_algorithm', `SHA-1 ${kind} algorithm refused: ${algorithm}`);
  }
  return samlFailure('unsupported_algorithm', `${kind} algorithm not accepted: ${clip(algorithm ?? '(none)')}`);
}

function only(parent: XmlElement, localName: string): XmlElement | null {
  const found = childElements(parent, NS.dsig, localName);
  return found.length === 1 ? found[0]! : null;
}
