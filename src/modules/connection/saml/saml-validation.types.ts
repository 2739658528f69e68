/**
 * What the service provider expects of one IdP's SAML responses. Built by the caller from a
 * connection's configuration; every field is a trust decision, so nothing here has a lenient
 * default except the skew and the size cap.
 */
export interface SamlValidationPolicy {
  /** The Issuer of the Assertion (and of the Response, when it names one) must equal it. */
  idpEntityId: string;
  /**
   * The IdP's signing certificates, PEM or base64 DER. Only these verify signatures: a
   * certificate carried in the message's KeyInfo is never trusted.
   */
  idpCertificates: string[];
  /** The Audience the assertion must be restricted to. */
  spEntityId: string;
  /** Destination (when present) and the bearer confirmation's Recipient must equal it. */
  acsUrl: string;
  /**
   * true: the Assertion itself must be signed. false: a signed Response or a signed Assertion
   * is enough. A signature that is present must verify either way.
   */
  requireSignedAssertion: boolean;
  /** true: the Response must be signed (and the Assertion too when requireSignedAssertion). */
  requireSignedResponse?: boolean;
  /**
   * The private keys (PEM, RSA) of the SP's encryption key pairs, tried in turn: several during
   * a rotation. Without any, an EncryptedAssertion is refused (`encrypted_not_supported`).
   * Decryption never replaces a signature: the decrypted assertion must still be signed, or
   * travel in a signed Response, with the IdP certificates above.
   */
  decryptionKeys?: string[];
  /** SHA-1 signature and digest algorithms are refused unless true (legacy IdPs only). */
  allowSha1: boolean;
  /** Tolerated clock difference for NotBefore/NotOnOrAfter; 0..600_000, default 120_000. */
  clockSkewMs?: number;
  /** Cap on the decoded XML size in bytes; default 256 KiB. */
  maxBytes?: number;
  /** The instant to validate at; defaults to the current time. */
  now?: Date;
}

/** Stable codes, for audit events, traces and the error page; `detail` is for people. */
export type SamlFailureReason =
  | 'malformed'
  | 'too_large'
  | 'doctype'
  | 'not_one_assertion'
  | 'encrypted_not_supported'
  | 'weak_encryption'
  | 'decryption_failed'
  | 'status'
  | 'unsigned'
  | 'bad_signature'
  | 'weak_algorithm'
  | 'unsupported_algorithm'
  | 'issuer'
  | 'audience'
  | 'destination'
  | 'recipient'
  | 'expired'
  | 'not_yet_valid'
  | 'in_response_to'
  | 'no_subject'
  | 'no_authn_statement'
  | 'rejected';

export interface SamlFailure {
  ok: false;
  reason: SamlFailureReason;
  detail: string;
}

export interface SamlSuccess {
  ok: true;
  /** The Assertion's ID: the caller refuses a second use of it (replay). */
  assertionId: string;
  /**
   * The request this answers, from the signed bearer confirmation, or from the Response when
   * the Response signature was verified; null for an unsolicited (IdP-initiated) response.
   * The caller matches it against its pending requests.
   */
  inResponseTo: string | null;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  /** The earliest NotOnOrAfter of the Conditions and the accepted bearer confirmation. */
  notOnOrAfter: Date;
  /** notOnOrAfter plus the skew: until then the assertion id must be remembered against replay. */
  rememberUntil: Date;
  /** Attribute Name → values, read from the verified assertion only. */
  attributes: Record<string, string[]>;
  /** Attribute Name → its FriendlyName, where the IdP gave one (pysaml2 and Shibboleth name attributes by OID). */
  friendlyNames: Record<string, string>;
}

export type SamlValidationResult = SamlSuccess | SamlFailure;

export function samlFailure(reason: SamlFailureReason, detail: string): SamlFailure {
  return { ok: false, reason, detail };
}
