import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';

// samlify is the independent IdP that produces the responses under test. Its typings pull the
// DOM lib into the whole program (changing fetch's global types), so it is loaded untyped and
// the few members used are described here.
interface SamlifyEntity {
  createLoginResponse(
    sp: SamlifyEntity,
    requestInfo: object,
    binding: 'post',
    user: object,
    options: { customTagReplacement: (template: string) => { id: string; context: string }; encryptThenSign?: boolean },
  ): Promise<{ context: string }>;
}
interface Samlify {
  IdentityProvider(settings: object): SamlifyEntity;
  ServiceProvider(settings: object): SamlifyEntity;
  SamlLib: { replaceTagsByValue(template: string, values: Record<string, string | null>): string };
  setSchemaValidator(validator: { validate: (xml: string) => Promise<string> }): void;
}
const samlify = createRequire(import.meta.url)('samlify') as Samlify;
// samlify refuses to run without a schema validator. It validates what it receives as an SP,
// which these tests never do: the test IdP's output is what is tested, by our validator.
samlify.setSchemaValidator({ validate: async () => 'skipped' });
// samlify's own XML Encryption library (its dependency, not ours): how the tests encrypt a
// plaintext of their choosing, as an attacker holding the SP's public certificate could.
const xmlEncryption = createRequire(createRequire(import.meta.url).resolve('samlify'))('@authenio/xml-encryption') as {
  encrypt(content: string, options: object, callback: (error: Error | null, result?: string) => void): void;
};

export const SP = {
  entityId: 'https://sp.gatehouse.test/saml/metadata',
  acsUrl: 'https://sp.gatehouse.test/saml/acs',
} as const;

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const ALGORITHMS = {
  sha1: { signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' },
  sha256: { signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
  sha512: { signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', digest: 'http://www.w3.org/2001/04/xmlenc#sha512' },
} as const;
export type Algorithm = keyof typeof ALGORITHMS;

const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
export const ENCRYPTION = {
  data: {
    'aes128-cbc': `${XMLENC}aes128-cbc`,
    'aes256-cbc': `${XMLENC}aes256-cbc`,
    'aes128-gcm': 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
    'aes256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
    'tripledes-cbc': `${XMLENC}tripledes-cbc`,
  },
  key: {
    'rsa-oaep-mgf1p': `${XMLENC}rsa-oaep-mgf1p`,
    'rsa-1_5': `${XMLENC}rsa-1_5`,
  },
} as const;
export type DataEncryption = keyof typeof ENCRYPTION.data;
export type KeyTransport = keyof typeof ENCRYPTION.key;

export interface EncryptionOptions {
  /** The SP's encryption certificate (PEM): the assertion is encrypted to its key. */
  cert: string;
  /** Default aes256-gcm. */
  data?: DataEncryption;
  /** Default rsa-oaep-mgf1p (with SHA-1, as samlify writes it). */
  key?: KeyTransport;
}

export interface SigningKey {
  privateKey: string;
  /** PEM certificate, self-signed. */
  cert: string;
}

/** An RSA key from node:crypto with a self-signed certificate around it. */
export async function createSigningKey(commonName: string): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyPair: { privateKey, publicKey },
    algorithm: 'sha256',
  });
  return { privateKey, cert: pems.cert };
}

/** The SP's encryption key pair: the same shape, an RSA key and a self-signed certificate. */
export type EncryptionKey = SigningKey;
export const createEncryptionKey = (commonName: string): Promise<EncryptionKey> => createSigningKey(commonName);

/** Template values of samlify's login response, plus the two statements we fill in. */
export type ResponseValues = Record<string, string | null>;

export interface ResponseOptions {
  sign: 'response' | 'assertion' | 'both';
  algorithm?: Algorithm;
  nameId?: string;
  attributes?: Record<string, string[]>;
  /** Overrides of the template values (null drops the attribute or element). */
  values?: ResponseValues;
  /** Edits the XML before the IdP signs it. */
  beforeSigning?: (xml: string) => string;
  /**
   * Encrypts the assertion (after signing it, when it is signed) into an EncryptedAssertion; a
   * Response signature is then made over the ciphertext, as SAML requires.
   */
  encrypt?: EncryptionOptions;
}

export function isoIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/** A SAML IdP built on samlify, signing with `key` under `entityId`. */
export class TestIdp {
  constructor(
    readonly entityId: string,
    readonly key: SigningKey,
  ) {}

  async response(options: ResponseOptions): Promise<string> {
    const algorithm = ALGORITHMS[options.algorithm ?? 'sha256'];
    const { encrypt } = options;
    const idp = samlify.IdentityProvider({
      entityID: this.entityId,
      privateKey: this.key.privateKey,
      signingCert: this.key.cert,
      requestSignatureAlgorithm: algorithm.signature,
      nameIDFormat: [EMAIL_FORMAT],
      singleSignOnService: [{ Binding: POST, Location: 'https://idp.example.test/sso' }],
      singleLogoutService: [{ Binding: POST, Location: 'https://idp.example.test/slo' }],
      ...(encrypt && {
        isAssertionEncrypted: true,
        dataEncryptionAlgorithm: ENCRYPTION.data[encrypt.data ?? 'aes256-gcm'],
        keyEncryptionAlgorithm: ENCRYPTION.key[encrypt.key ?? 'rsa-oaep-mgf1p'],
      }),
    });
    const sp = samlify.ServiceProvider({
      entityID: SP.entityId,
      assertionConsumerService: [{ Binding: POST, Location: SP.acsUrl }],
      wantAssertionsSigned: options.sign !== 'response',
      wantMessageSigned: options.sign !== 'assertion',
      ...(encrypt && { encryptCert: encrypt.cert }),
    });
    const now = new Date().toISOString();
    const values: ResponseValues = {
      ID: `_resp${randomHex()}`,
      AssertionID: `_assert${randomHex()}`,
      Destination: SP.acsUrl,
      Audience: SP.entityId,
      SubjectRecipient: SP.acsUrl,
      Issuer: this.entityId,
      IssueInstant: now,
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: now,
      ConditionsNotOnOrAfter: isoIn(5 * 60_000),
      SubjectConfirmationDataNotOnOrAfter: isoIn(5 * 60_000),
      NameIDFormat: EMAIL_FORMAT,
      NameID: options.nameId ?? 'ada@example.com',
      InResponseTo: '_req_0001',
      SessionIndex: '_session_0001',
      ...options.values,
    };
    const statements =
      `<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext>` +
      '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>' +
      '</saml:AuthnContext></saml:AuthnStatement>' +
      attributeStatement(options.attributes ?? { email: ['ada@example.com'], groups: ['admins', 'staff'] });
    const { context } = await idp.createLoginResponse(
      sp,
      {},
      'post',
      {},
      {
        customTagReplacement: (template) => {
          const filled = template.replace('{AuthnStatement}', statements).replace('{AttributeStatement}', '');
          const xml = samlify.SamlLib.replaceTagsByValue(filled, values);
          return { id: String(values.ID), context: options.beforeSigning ? options.beforeSigning(xml) : xml };
        },
        // samlify's default signs the Response before encrypting, over the plaintext: not SAML.
        ...(encrypt && { encryptThenSign: true }),
      },
    );
    return Buffer.from(context, 'base64').toString('utf8');
  }
}

function attributeStatement(attributes: Record<string, string[]>): string {
  const items = Object.entries(attributes).map(
    ([name, values]) =>
      `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
      values.map((value) => `<saml:AttributeValue>${escapeXml(value)}</saml:AttributeValue>`).join('') +
      '</saml:Attribute>',
  );
  return items.length > 0 ? `<saml:AttributeStatement>${items.join('')}</saml:AttributeStatement>` : '';
}

export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function randomHex(): string {
  return Math.random().toString(16).slice(2) + Date.now().toString(16);
}

const RESPONSE_XPATH = "/*[local-name(.)='Response']";
const ASSERTION_XPATH = "/*[local-name(.)='Response']/*[local-name(.)='Assertion']";

/**
 * Signs the Response or its Assertion with xml-crypto directly: how the tests re-sign an edited
 * document, or sign as an attacker (whose certificate goes into KeyInfo, as an IdP's would).
 */
export function signElement(
  xml: string,
  target: 'response' | 'assertion',
  key: SigningKey,
  algorithm: Algorithm = 'sha256',
): string {
  const xpath = target === 'response' ? RESPONSE_XPATH : ASSERTION_XPATH;
  const signed = new SignedXml({
    privateKey: key.privateKey,
    publicCert: key.cert,
    signatureAlgorithm: ALGORITHMS[algorithm].signature,
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    getKeyInfoContent: SignedXml.getKeyInfoContent,
  });
  signed.addReference({
    xpath,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: ALGORITHMS[algorithm].digest,
  });
  signed.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signed.getSignedXml();
}

/** The document without any ds:Signature. */
export function withoutSignatures(xml: string): string {
  return xml.replace(/<ds:Signature\b[\s\S]*?<\/ds:Signature>/g, '');
}

/** The one `<saml:Assertion …>…</saml:Assertion>` of a document, as text. */
export function assertionOf(xml: string): string {
  const match = /<saml:Assertion\b[\s\S]*<\/saml:Assertion>/.exec(xml);
  if (!match) throw new Error('no assertion in the document');
  return match[0];
}

export interface AssertionEncryption {
  data?: DataEncryption;
  key?: KeyTransport;
  /** The plaintext to encrypt, from the document's assertion (default: the assertion itself). */
  plaintext?: (assertion: string) => string;
}

/**
 * Replaces the document's Assertion with an EncryptedAssertion to `cert`, with samlify's XML
 * Encryption library. Signatures over the Response are not redone (see signElement).
 */
export async function encryptAssertionIn(xml: string, cert: string, options: AssertionEncryption = {}): Promise<string> {
  const assertion = assertionOf(xml);
  const plaintext = options.plaintext ? options.plaintext(assertion) : assertion;
  const encrypted = await new Promise<string>((resolve, reject) =>
    xmlEncryption.encrypt(
      plaintext,
      {
        rsa_pub: new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'pem' }),
        pem: cert,
        encryptionAlgorithm: ENCRYPTION.data[options.data ?? 'aes256-gcm'],
        keyEncryptionAlgorithm: ENCRYPTION.key[options.key ?? 'rsa-oaep-mgf1p'],
        warnInsecureAlgorithm: false,
      },
      (error, result) => (error || !result ? reject(error ?? new Error('no ciphertext')) : resolve(result)),
    ),
  );
  return xml.replace(assertion, () => `<saml:EncryptedAssertion>${encrypted}</saml:EncryptedAssertion>`);
}

export function toBase64(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}
