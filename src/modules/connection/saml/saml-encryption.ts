import { constants, createDecipheriv, createPrivateKey, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { samlFailure, type SamlFailure } from './saml-validation.types.js';
import {
  attribute,
  base64Value,
  childElements,
  clip,
  escapeXml,
  is,
  isBlankText,
  isElement,
  NS,
  parseXml,
  refuseUnsafeXml,
  serializeDocument,
  text,
  utf8,
  type XmlElement,
} from './saml-xml.js';

// XML Encryption, done here with node:crypto rather than by node-saml (which hands the
// EncryptedAssertion to xml-encryption 3.1.0 with `decryptionPvk`). That path does not ask
// xml-encryption to refuse RSA-PKCS#1 v1.5 and 3DES, knows neither xmlenc11#rsa-oaep nor the
// standard OAEP digest URIs (xmlenc#sha256 silently means SHA-1 there), parses the plaintext
// out of its namespace context, and reports a bad CBC padding with its own message ("callback
// is not defined"): a padding oracle once the message reaches the sender. Here the algorithms
// are an allow-list and every decryption failure, whatever the step, is one and the same answer.

interface DataAlgorithm {
  cipher: 'aes-128-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-256-gcm';
  keyLength: number;
  /**
   * CBC: anyone may alter the ciphertext under the IdP's content key and watch how the
   * plaintext fares (Jager and Somorovsky, "How to Break XML Encryption", 2011). GCM's tag
   * refuses any alteration.
   */
  malleable: boolean;
}
const DATA_ALGORITHMS: Record<string, DataAlgorithm> = {
  [`${NS.xenc}aes128-cbc`]: { cipher: 'aes-128-cbc', keyLength: 16, malleable: true },
  [`${NS.xenc}aes256-cbc`]: { cipher: 'aes-256-cbc', keyLength: 32, malleable: true },
  [`${NS.xenc11}aes128-gcm`]: { cipher: 'aes-128-gcm', keyLength: 16, malleable: false },
  [`${NS.xenc11}aes256-gcm`]: { cipher: 'aes-256-gcm', keyLength: 32, malleable: false },
};
const RSA_OAEP_MGF1P = `${NS.xenc}rsa-oaep-mgf1p`;
const RSA_OAEP = `${NS.xenc11}rsa-oaep`;
// RSA-PKCS#1 v1.5 key transport invites Bleichenbacher's attack; 3DES has a 64-bit block.
const WEAK_ALGORITHMS = new Set([`${NS.xenc}rsa-1_5`, `${NS.xenc}tripledes-cbc`]);
// OAEP's hash: SHA-1 stays acceptable there (no collision resistance is needed), and it is the
// default of both key transport URIs.
const OAEP_DIGESTS: Record<string, string> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmldsig-more#sha224': 'sha224',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const MASK_GENERATION: Record<string, string> = {
  [`${NS.xenc11}mgf1sha1`]: 'sha1',
  [`${NS.xenc11}mgf1sha224`]: 'sha224',
  [`${NS.xenc11}mgf1sha256`]: 'sha256',
  [`${NS.xenc11}mgf1sha384`]: 'sha384',
  [`${NS.xenc11}mgf1sha512`]: 'sha512',
};
/** One per recipient at most, in practice; each costs an RSA decryption per configured key. */
const MAX_ENCRYPTED_KEYS = 4;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK_BYTES = 16;
// A leading XML declaration: not part of an element's content, though some IdPs encrypt one.
const XML_DECLARATION = /^\uFEFF?[ \t\r\n]*<\?xml[ \t\r\n][^?]*\?>/;

/**
 * The one answer for every way decryption can fail, padding, tag, key or a plaintext that does
 * not parse. `opaque`: the ciphertext is malleable and no signature vouched for it, so every
 * refusal until the decrypted assertion's signature verifies is this one too (otherwise each
 * reason would tell the sender something about a plaintext it cannot read). The detail depends
 * only on what the sender knows.
 */
export function decryptionFailed(opaque = false): SamlFailure {
  return samlFailure(
    'decryption_failed',
    opaque
      ? 'the EncryptedAssertion does not decrypt to a verifiable assertion with any configured key; with AES-CBC and ' +
          'no Response signature no finer reason is given (AES-GCM or a signed Response would tell)'
      : 'the EncryptedAssertion does not decrypt to well-formed XML with any configured key',
  );
}

interface WrappedKey {
  cipherText: Buffer;
  oaepHash: string;
  oaepLabel: Buffer | undefined;
}

export interface EncryptedAssertionParts {
  data: DataAlgorithm;
  cipherText: Buffer;
  /** The EncryptedKeys in EncryptedData's KeyInfo, then those beside EncryptedData (SAML core §2.2.4). */
  keys: WrappedKey[];
}

/** policy.decryptionKeys → key objects; a key that is not an RSA private key is a configuration bug. */
export function decryptionKeyObjects(pems: readonly string[] | undefined): KeyObject[] {
  return (pems ?? []).map((pem, index) => {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new TypeError(`SamlValidationPolicy.decryptionKeys[${index}] is not an RSA private key`);
    return key;
  });
}

/**
 * The EncryptedAssertion's shape and algorithms, checked before any decryption: one
 * EncryptedData of an Element with its ciphertext inline (a CipherReference would make us fetch
 * a URI), RSA-OAEP key transport only, data algorithms from the allow-list.
 */
export function readEncryptedAssertion(encryptedAssertion: XmlElement): EncryptedAssertionParts | SamlFailure {
  const children = childElements(encryptedAssertion);
  const encryptedData = children.filter((child) => is(child, NS.xenc, 'EncryptedData'));
  const besideKeys = children.filter((child) => is(child, NS.xenc, 'EncryptedKey'));
  if (encryptedData.length !== 1 || encryptedData.length + besideKeys.length !== children.length) {
    return samlFailure('malformed', 'the EncryptedAssertion must hold one EncryptedData and nothing but EncryptedKeys beside it');
  }
  const data = encryptedData[0]!;
  const type = attribute(data, 'Type');
  if (type !== null && type !== `${NS.xenc}Element`) return samlFailure('malformed', `EncryptedData Type ${clip(type)} is not an element`);

  const method = single(data, NS.xenc, 'EncryptionMethod');
  const dataAlgorithm = method ? attribute(method, 'Algorithm') : null;
  const problem = algorithmProblem(dataAlgorithm, 'data encryption');
  if (problem) return problem;
  const dataCipherText = cipherValue(data);
  if ('ok' in dataCipherText) return dataCipherText;

  const keyInfos = childElements(data, NS.dsig, 'KeyInfo');
  if (keyInfos.length > 1) return samlFailure('malformed', 'EncryptedData has more than one KeyInfo');
  const keyElements = [...(keyInfos[0] ? childElements(keyInfos[0], NS.xenc, 'EncryptedKey') : []), ...besideKeys];
  if (keyElements.length === 0) return samlFailure('unsupported_algorithm', 'no EncryptedKey: only RSA-OAEP key transport is accepted');
  if (keyElements.length > MAX_ENCRYPTED_KEYS) return samlFailure('malformed', `more than ${MAX_ENCRYPTED_KEYS} EncryptedKeys`);
  const keys: WrappedKey[] = [];
  for (const element of keyElements) {
    const key = readEncryptedKey(element);
    if ('ok' in key) return key;
    keys.push(key);
  }
  return { data: DATA_ALGORITHMS[dataAlgorithm!]!, cipherText: dataCipherText, keys };
}

function readEncryptedKey(encryptedKey: XmlElement): WrappedKey | SamlFailure {
  const method = single(encryptedKey, NS.xenc, 'EncryptionMethod');
  const algorithm = method ? attribute(method, 'Algorithm') : null;
  const problem = algorithmProblem(algorithm, 'key transport');
  if (problem) return problem;
  const digests = childElements(method!, NS.dsig, 'DigestMethod');
  const mgfs = childElements(method!, NS.xenc11, 'MGF');
  const labels = childElements(method!, NS.xenc, 'OAEPparams');
  if (digests.length > 1 || mgfs.length > 1 || labels.length > 1) {
    return samlFailure('malformed', 'an EncryptedKey method repeats a parameter');
  }
  if (algorithm === RSA_OAEP_MGF1P && mgfs.length > 0) return samlFailure('malformed', 'rsa-oaep-mgf1p takes no MGF');

  const digestUri = digests[0] ? attribute(digests[0], 'Algorithm') : 'http://www.w3.org/2000/09/xmldsig#sha1';
  const mgfUri = mgfs[0] ? attribute(mgfs[0], 'Algorithm') : `${NS.xenc11}mgf1sha1`;
  const digest = digestUri === null ? undefined : OAEP_DIGESTS[digestUri];
  const mgf = mgfUri === null ? undefined : MASK_GENERATION[mgfUri];
  if (!digest || !mgf) return samlFailure('unsupported_algorithm', `RSA-OAEP parameters not accepted: ${clip(`${digestUri} / ${mgfUri}`)}`);
  // Node's RSA-OAEP uses one hash for both the label digest and MGF1.
  if (digest !== mgf) return samlFailure('unsupported_algorithm', `RSA-OAEP with ${digest} and MGF1 with ${mgf} is not supported`);

  let oaepLabel: Buffer | undefined;
  if (labels[0]) {
    const label = base64Value(text(labels[0]));
    if (!label) return samlFailure('malformed', 'OAEPparams is not base64');
    oaepLabel = label;
  }
  const cipherText = cipherValue(encryptedKey);
  if ('ok' in cipherText) return cipherText;
  return { cipherText, oaepHash: digest, oaepLabel };
}

function algorithmProblem(algorithm: string | null, kind: 'data encryption' | 'key transport'): SamlFailure | null {
  if (algorithm === null) return samlFailure('unsupported_algorithm', `${kind} algorithm not named`);
  if (WEAK_ALGORITHMS.has(algorithm)) return samlFailure('weak_encryption', `${kind} algorithm refused: ${algorithm}`);
  const allowed = kind === 'data encryption' ? algorithm in DATA_ALGORITHMS : algorithm === RSA_OAEP_MGF1P || algorithm === RSA_OAEP;
  return allowed ? null : samlFailure('unsupported_algorithm', `${kind} algorithm not accepted: ${clip(algorithm)}`);
}

function cipherValue(parent: XmlElement): Buffer | SamlFailure {
  const cipherData = single(parent, NS.xenc, 'CipherData');
  const value = cipherData ? single(cipherData, NS.xenc, 'CipherValue') : null;
  if (!cipherData || !value || childElements(cipherData).length !== 1) {
    return samlFailure('malformed', `${parent.localName} must carry its ciphertext in one CipherValue`);
  }
  return base64Value(text(value)) ?? samlFailure('malformed', `the ${parent.localName} CipherValue is not base64`);
}

function single(parent: XmlElement, namespace: string, localName: string): XmlElement | null {
  const found = childElements(parent, namespace, localName);
  return found.length === 1 ? found[0]! : null;
}

/**
 * The plaintext, with the first configured key that opens one of the EncryptedKeys and then the
 * data; null otherwise, whichever step failed (key, tag, padding, UTF-8).
 */
export function decryptAssertion(parts: EncryptedAssertionParts, keys: readonly KeyObject[]): string | null {
  for (const key of keys) {
    for (const wrapped of parts.keys) {
      const plaintext = attempt(parts, key, wrapped);
      if (plaintext !== null) return plaintext;
    }
  }
  return null;
}

function attempt(parts: EncryptedAssertionParts, key: KeyObject, wrapped: WrappedKey): string | null {
  try {
    const contentKey = privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: wrapped.oaepHash, oaepLabel: wrapped.oaepLabel },
      wrapped.cipherText,
    );
    if (contentKey.length !== parts.data.keyLength) return null;
    const plaintext = decryptData(parts.data, contentKey, parts.cipherText);
    return plaintext === null ? null : utf8(plaintext);
  } catch {
    return null;
  }
}

// XML Encryption 1.1 §5.2: the IV precedes the ciphertext; GCM's 128-bit tag follows it. CBC's
// padding is arbitrary but for its last byte, the padding length.
function decryptData(algorithm: DataAlgorithm, key: Buffer, input: Buffer): Buffer | null {
  if (algorithm.cipher === 'aes-128-gcm' || algorithm.cipher === 'aes-256-gcm') {
    if (input.length < GCM_IV_BYTES + GCM_TAG_BYTES) return null;
    const decipher = createDecipheriv(algorithm.cipher, key, input.subarray(0, GCM_IV_BYTES), { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(input.subarray(input.length - GCM_TAG_BYTES));
    return Buffer.concat([decipher.update(input.subarray(GCM_IV_BYTES, input.length - GCM_TAG_BYTES)), decipher.final()]);
  }
  if (input.length < 2 * AES_BLOCK_BYTES || input.length % AES_BLOCK_BYTES !== 0) return null;
  const decipher = createDecipheriv(algorithm.cipher, key, input.subarray(0, AES_BLOCK_BYTES));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(input.subarray(AES_BLOCK_BYTES)), decipher.final()]);
  const padding = padded[padded.length - 1]!;
  if (padding < 1 || padding > AES_BLOCK_BYTES) return null;
  return padded.subarray(0, padded.length - padding);
}

export interface DecryptedDocument {
  /** The Response as text with the decrypted Assertion in the EncryptedAssertion's place and no Response signature. */
  xml: string;
  root: XmlElement;
}

/**
 * Puts the plaintext where the EncryptedAssertion was (XML Encryption's "replace" processing),
 * after making sure it is nothing but one Assertion, parsed in the Response's namespace context.
 * The plaintext is spliced as text, so that a signature inside it is verified over the bytes the
 * IdP encrypted. The Response signature is dropped: it was verified over the ciphertext and
 * would not verify over the plaintext. A DOCTYPE in the plaintext is refused like one outside;
 * plaintext that does not parse is a decryption failure (CBC is malleable: its parse errors must
 * not be told apart from padding errors; for an AES-CBC ciphertext no signature covered, the
 * caller turns every other refusal into one too).
 */
export function decryptedDocument(xml: string, plaintext: string): DecryptedDocument | SamlFailure {
  const content = plaintext.replace(XML_DECLARATION, '');
  const safe = refuseUnsafeXml(content);
  if (typeof safe !== 'string') return safe.reason === 'doctype' ? safe : decryptionFailed();

  const response = parseXml(xml);
  if ('ok' in response) return response;
  const token = `gatehouse-decrypted-${randomBytes(16).toString('hex')}`;
  const namespaces = Array.from(response.attributes)
    .filter((attr) => attr.name === 'xmlns' || attr.name.startsWith('xmlns:'))
    .map((attr) => ` ${attr.name}="${escapeXml(attr.value)}"`)
    .join('');
  const wrapper = parseXml(`<${token}${namespaces}>${content}</${token}>`);
  if ('ok' in wrapper || wrapper.localName !== token) return decryptionFailed();
  const nodes = Array.from(wrapper.childNodes);
  const elements = nodes.filter(isElement);
  const onlyOne = elements.length === 1 && nodes.every((node) => isElement(node) || isBlankText(node));
  if (!onlyOne || !is(elements[0]!, NS.assertion, 'Assertion')) {
    return samlFailure('not_one_assertion', 'the EncryptedAssertion does not decrypt to exactly one Assertion');
  }

  for (const signature of childElements(response, NS.dsig, 'Signature')) response.removeChild(signature);
  const encrypted = childElements(response, NS.assertion, 'EncryptedAssertion');
  if (encrypted.length !== 1) return samlFailure('not_one_assertion', 'the Response holds no single EncryptedAssertion');
  response.replaceChild(response.ownerDocument.createComment(token), encrypted[0]!);
  const serialized = serializeDocument(response);
  const placeholder = `<!--${token}-->`;
  const at = serialized.indexOf(placeholder);
  if (at < 0 || serialized.indexOf(placeholder, at + 1) >= 0) {
    return samlFailure('malformed', 'the decrypted assertion cannot be put in place');
  }
  const decrypted = `${serialized.slice(0, at)}${content}${serialized.slice(at + placeholder.length)}`;

  const checked = refuseUnsafeXml(decrypted);
  if (typeof checked !== 'string') return checked;
  const root = parseXml(decrypted);
  if ('ok' in root) return decryptionFailed();
  return { xml: decrypted, root };
}
