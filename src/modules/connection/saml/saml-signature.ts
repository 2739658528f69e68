import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
// The function node-saml's validatePostResponseAsync verifies the Response signature with; not in
// its index, but its version is pinned and the encrypted-assertion tests exercise it.
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
import { samlFailure, type SamlFailure } from './saml-validation.types.js';
import { attribute, clip, parseXml, type XmlElement } from './saml-xml.js';

/** What `verifiedAssertion` checks: the document, already parsed, with its Response and Assertion. */
export interface DocumentSignatureCheck {
  xml: string;
  response: XmlElement;
  assertion: XmlElement;
  certificates: string[];
  responseSigned: boolean;
  assertionSigned: boolean;
}

/**
 * The signatures that are present, verified with node-saml's own verifier (`getVerifiedXml`, the
 * one its `validatePostResponseAsync` uses: one enveloped signature of its parent, no more than
 * two transforms, a reference to the one element with that ID, xml-crypto's check with each
 * certificate in turn), over the document our structure check already parsed: the Response's
 * when it is signed (its signed bytes must be this Response), then the Assertion's. The result
 * is the assertion as it was signed, parsed from the verified bytes (the signed reference, or
 * the one Assertion of the signed Response): the only assertion our later checks read.
 * node-saml's time, audience and profile rules are not used: `checkAssertion` applies them all
 * to this assertion.
 */
export function verifiedAssertion(check: DocumentSignatureCheck): XmlElement | SamlFailure {
  let signedAssertion: XmlElement | null = null;
  if (check.responseSigned) {
    const verified = verifyResponseSignature(check.xml, check.response, check.certificates);
    if ('ok' in verified) return verified;
    if (!check.assertionSigned) {
      signedAssertion = onlyAssertionOf(verified);
      if (!signedAssertion) return samlFailure('bad_signature', 'the verified Response holds no single Assertion');
    }
  }
  if (check.assertionSigned) {
    let signed: string | null;
    try {
      signed = getVerifiedXml(check.xml, check.assertion as unknown as Parameters<typeof getVerifiedXml>[1], publicKeysOf(check.certificates));
    } catch (error) {
      return samlFailure('bad_signature', clip(error instanceof Error ? error.message : String(error)));
    }
    if (signed === null) return samlFailure('bad_signature', 'the Assertion signature does not verify with the IdP certificates');
    const parsed = parseXml(signed);
    if ('ok' in parsed) return samlFailure('bad_signature', 'the verified Assertion does not parse');
    signedAssertion = parsed;
  }
  return signedAssertion ?? samlFailure('unsigned', 'neither the Response nor the Assertion is signed');
}

/** The one SAML 2.0 Assertion child of a Response, or null. */
function onlyAssertionOf(response: XmlElement): XmlElement | null {
  const assertions = Array.from(response.childNodes).filter(
    (node): node is XmlElement => node.nodeType === 1 && (node as XmlElement).localName === 'Assertion' && (node as XmlElement).namespaceURI === 'urn:oasis:names:tc:SAML:2.0:assertion',
  );
  return assertions.length === 1 ? assertions[0]! : null;
}

/**
 * The Response signature, verified over the document as received: for an EncryptedAssertion,
 * over the ciphertext, before anything is decrypted. node-saml's own verifier with the policy's
 * certificates only, then the signed bytes must be this Response.
 */
export function verifyResponseSignature(xml: string, response: XmlElement, certificates: string[]): SamlFailure | XmlElement {
  let signed: string | null;
  try {
    signed = getVerifiedXml(xml, response as unknown as Parameters<typeof getVerifiedXml>[1], publicKeysOf(certificates));
  } catch (error) {
    return samlFailure('bad_signature', clip(error instanceof Error ? error.message : String(error)));
  }
  if (signed === null) return samlFailure('bad_signature', 'the Response signature does not verify with the IdP certificates');
  const signedRoot = parseXml(signed);
  if ('ok' in signedRoot || signedRoot.localName !== 'Response' || attribute(signedRoot, 'ID') !== attribute(response, 'ID')) {
    return samlFailure('bad_signature', 'the verified Response is not the one in the document');
  }
  return signedRoot;
}

/** Public keys of the PEM certificates seen: a key parsed on every verification costs more than the RSA check itself. */
const publicKeys = new Map<string, KeyObject>();

/**
 * The certificates' public keys as KeyObjects, in the type node-saml's verifier declares (PEM
 * strings): it hands each to xml-crypto as the verification key, which passes it to
 * `crypto.verify` as it is, and a KeyObject is what that takes best. Only RSA PKCS#1 v1.5
 * signature methods reach it (`checkStructure`).
 */
function publicKeysOf(certificates: readonly string[]): string[] {
  return certificates.map((pem) => {
    let key = publicKeys.get(pem);
    if (!key) {
      key = createPublicKey(pem);
      if (publicKeys.size >= MAX_CACHED_CERTIFICATES) publicKeys.clear();
      publicKeys.set(pem, key);
    }
    return key as unknown as string;
  });
}

/** Certificates seen, as PEM: a connection's few certificates are parsed once, not on every response. */
const pemOf = new Map<string, string>();
const MAX_CACHED_CERTIFICATES = 1000;

/** PEM or base64 DER → PEM; throws for something that is not a certificate (a configuration bug). */
export function certificateToPem(certificate: string): string {
  let pem = pemOf.get(certificate);
  if (pem === undefined) {
    pem = parseCertificate(certificate);
    if (pemOf.size >= MAX_CACHED_CERTIFICATES) pemOf.clear();
    pemOf.set(certificate, pem);
  }
  return pem;
}

function parseCertificate(certificate: string): string {
  const trimmed = certificate.trim();
  const parsed = trimmed.startsWith('-----BEGIN')
    ? new X509Certificate(trimmed)
    : new X509Certificate(Buffer.from(trimmed.replace(/\s+/g, ''), 'base64'));
  return parsed.toString();
}
