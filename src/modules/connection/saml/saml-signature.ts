import { X509Certificate } from 'node:crypto';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
// The function node-saml's validatePostResponseAsync verifies the Response signature with; not in
// its index, but its version is pinned and the encrypted-assertion tests exercise it.
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
import { samlFailure, type SamlFailure, type SamlFailureReason } from './saml-validation.types.js';
import { attribute, clip, parseXml, type XmlElement } from './saml-xml.js';

export interface SignatureCheck {
  xml: string;
  certificates: string[];
  spEntityId: string;
  acsUrl: string;
  responseSigned: boolean;
  assertionSigned: boolean;
  /** node-saml's own time checks, or -1 to leave timing to us (when `now` is not the clock). */
  clockSkewMs: number;
}

/**
 * node-saml verifies the signatures against the configured certificates and returns the XML of
 * the assertion as it was signed (the signed reference's canonical bytes, or the assertion
 * taken from the signed Response's bytes): the only XML our later checks read.
 */
export async function verifiedAssertionXml(check: SignatureCheck): Promise<string | SamlFailure> {
  const saml = new SAML({
    idpCert: check.certificates,
    issuer: check.spEntityId,
    callbackUrl: check.acsUrl,
    audience: check.spEntityId,
    // Replay and InResponseTo are the caller's, against its database store.
    validateInResponseTo: ValidateInResponseTo.never,
    // A signature that is present must verify: node-saml otherwise ignores a broken Response
    // signature when the Assertion's verifies. Which ones must be present was checked before.
    wantAuthnResponseSigned: check.responseSigned,
    wantAssertionsSigned: check.assertionSigned,
    acceptedClockSkewMs: check.clockSkewMs,
  });
  try {
    const { profile } = await saml.validatePostResponseAsync({
      SAMLResponse: Buffer.from(check.xml, 'utf8').toString('base64'),
    });
    const assertionXml = profile?.getAssertionXml?.();
    if (typeof assertionXml !== 'string') return samlFailure('rejected', 'no verified assertion');
    return assertionXml;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return samlFailure(reasonOf(message), clip(message));
  }
}

/**
 * The Response signature, verified over the document as received: for an EncryptedAssertion,
 * over the ciphertext, before anything is decrypted. node-saml's own verifier with the policy's
 * certificates only, then the signed bytes must be this Response.
 */
export function verifyResponseSignature(xml: string, response: XmlElement, certificates: string[]): SamlFailure | null {
  let signed: string | null;
  try {
    signed = getVerifiedXml(xml, response as unknown as Parameters<typeof getVerifiedXml>[1], certificates);
  } catch (error) {
    return samlFailure('bad_signature', clip(error instanceof Error ? error.message : String(error)));
  }
  if (signed === null) return samlFailure('bad_signature', 'the Response signature does not verify with the IdP certificates');
  const signedRoot = parseXml(signed);
  if ('ok' in signedRoot || signedRoot.localName !== 'Response' || attribute(signedRoot, 'ID') !== attribute(response, 'ID')) {
    return samlFailure('bad_signature', 'the verified Response is not the one in the document');
  }
  return null;
}

// node-saml reports by message only; its version is pinned, and the tests pin these mappings.
function reasonOf(message: string): SamlFailureReason {
  if (/signature/i.test(message)) return 'bad_signature';
  if (/^Error parsing/.test(message)) return 'malformed';
  if (/expired/i.test(message)) return 'expired';
  if (/not yet valid/i.test(message)) return 'not_yet_valid';
  if (/audience/i.test(message)) return 'audience';
  if (/status|SAML provider returned/i.test(message)) return 'status';
  return 'rejected';
}

/** PEM or base64 DER → PEM; throws for something that is not a certificate (a configuration bug). */
export function certificateToPem(certificate: string): string {
  const trimmed = certificate.trim();
  const parsed = trimmed.startsWith('-----BEGIN')
    ? new X509Certificate(trimmed)
    : new X509Certificate(Buffer.from(trimmed.replace(/\s+/g, ''), 'base64'));
  return parsed.toString();
}
