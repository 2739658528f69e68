import { createRequire } from 'node:module';
import { samlFailure, type SamlFailure } from './saml-validation.types.js';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xenc11: 'http://www.w3.org/2009/xmlenc11#',
} as const;

// The few DOM members we use. @xmldom/xmldom's own typings reference the DOM lib, which would
// change global types (fetch's Headers, Response) for the whole program; so it is loaded
// untyped and described here.
export interface XmlNode {
  readonly nodeType: number;
  readonly parentNode: XmlNode | null;
  readonly childNodes: ArrayLike<XmlNode>;
  readonly textContent: string | null;
}
export interface XmlAttr extends XmlNode {
  /** The qualified name, as written ("xmlns:saml"). */
  readonly name: string;
  readonly localName: string;
  readonly value: string;
}
export interface XmlElement extends XmlNode {
  readonly localName: string;
  readonly namespaceURI: string | null;
  readonly attributes: ArrayLike<XmlAttr>;
  readonly ownerDocument: XmlDocument;
  getAttributeNode(name: string): XmlAttr | null;
  removeChild(child: XmlNode): XmlNode;
  replaceChild(newChild: XmlNode, oldChild: XmlNode): XmlNode;
}
export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
  createComment(data: string): XmlNode;
}
interface XmlDomModule {
  DOMParser: new (options: {
    locator: object;
    errorHandler: { warning: (msg: string) => void; error: (msg: string) => void; fatalError: (msg: string) => void };
  }) => { parseFromString(source: string, mimeType: string): XmlDocument };
  XMLSerializer: new () => { serializeToString(node: XmlNode): string };
}

const xmldom = createRequire(import.meta.url)('@xmldom/xmldom') as XmlDomModule;

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const DEFAULT_MAX_BYTES = 256 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Only comments and CDATA may start with "<!": anything else is a DOCTYPE, ENTITY, ELEMENT or
// ATTLIST declaration (any case, anywhere), the carrier of entity expansion and external
// entity attacks.
const MARKUP_DECLARATION = /<!(?!--|\[CDATA\[)/;
// Characters XML 1.0 forbids; also how a UTF-16 document decoded as UTF-8 shows itself (NULs).
const FORBIDDEN_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * The HTTP-POST SAMLResponse field → the XML text, refusing before any parser sees it what no
 * parser should: oversize input, invalid base64 or UTF-8, and DTDs of any kind.
 */
export function decodeSamlResponse(samlResponseBase64: string, maxBytes = DEFAULT_MAX_BYTES): string | SamlFailure {
  if (typeof samlResponseBase64 !== 'string') return samlFailure('malformed', 'SAMLResponse is not a string');
  // Base64 is 4/3 of the bytes; the slack admits the line breaks some IdPs insert.
  const maxEncoded = Math.ceil(maxBytes / 3) * 4;
  if (samlResponseBase64.length > maxEncoded * 2 + 1024) return samlFailure('too_large', `SAMLResponse exceeds ${maxBytes} bytes`);
  const compact = samlResponseBase64.replace(/[\r\n\t ]/g, '');
  if (compact.length > maxEncoded) return samlFailure('too_large', `SAMLResponse exceeds ${maxBytes} bytes`);
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    return samlFailure('malformed', 'SAMLResponse is not valid base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.length > maxBytes) return samlFailure('too_large', `SAMLResponse exceeds ${maxBytes} bytes`);
  const text = utf8(bytes);
  if (text === null) return samlFailure('malformed', 'SAMLResponse is not UTF-8');
  return refuseUnsafeXml(text);
}

/** Strict UTF-8 → text without a leading byte order mark, or null when the bytes are not UTF-8. */
export function utf8(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** The bytes of an xs:base64Binary value (whitespace allowed between characters), or null. */
export function base64Value(value: string): Buffer | null {
  const compact = value.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

/** XML text from outside, refused before any parser sees it when it has a DTD of any kind or characters XML forbids. */
export function refuseUnsafeXml(text: string): string | SamlFailure {
  if (MARKUP_DECLARATION.test(text)) {
    return samlFailure('doctype', 'DOCTYPE and markup declarations are not accepted');
  }
  if (FORBIDDEN_CHARACTERS.test(text)) return samlFailure('malformed', 'the document contains characters XML forbids');
  return text;
}

/** A strict parse: any parser warning or error refuses the document. */
export function parseXml(text: string): XmlElement | SamlFailure {
  const problems: string[] = [];
  const collect = (msg: string) => {
    problems.push(String(msg).split('\n')[0] ?? 'parse error');
  };
  let document: XmlDocument;
  try {
    document = new xmldom.DOMParser({
      locator: {},
      errorHandler: { warning: collect, error: collect, fatalError: collect },
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    return samlFailure('malformed', `XML does not parse: ${clip(String(error))}`);
  }
  if (problems.length > 0) return samlFailure('malformed', `XML does not parse: ${clip(problems[0]!)}`);
  if (!document.documentElement) return samlFailure('malformed', 'XML has no root element');
  return document.documentElement;
}

export function isElement(node: XmlNode): node is XmlElement {
  return node.nodeType === ELEMENT_NODE;
}

/** Text made only of XML whitespace: what may separate elements without meaning anything. */
export function isBlankText(node: XmlNode): boolean {
  return node.nodeType === TEXT_NODE && /^[ \t\r\n]*$/.test(node.textContent ?? '');
}

/** The document that holds the element, as text (xmldom's serializer). */
export function serializeDocument(element: XmlElement): string {
  return new xmldom.XMLSerializer().serializeToString(element.ownerDocument);
}

export function is(element: XmlElement, namespace: string, localName: string): boolean {
  return element.namespaceURI === namespace && element.localName === localName;
}

export function childElements(parent: XmlNode, namespace?: string, localName?: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (const node of Array.from(parent.childNodes)) {
    if (!isElement(node)) continue;
    if (namespace !== undefined && localName !== undefined && !is(node, namespace, localName)) continue;
    found.push(node);
  }
  return found;
}

/** Every element below `root` (itself included), in document order; iterative, so depth is no risk. */
export function allElements(root: XmlElement): XmlElement[] {
  const found: XmlElement[] = [];
  const stack: XmlElement[] = [root];
  while (stack.length > 0) {
    const element = stack.pop()!;
    found.push(element);
    const children = childElements(element);
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]!);
  }
  return found;
}

/** The attribute's value, or null when absent (xmldom's getAttribute answers '' for both). */
export function attribute(element: XmlElement, name: string): string | null {
  return element.getAttributeNode(name)?.value ?? null;
}

/** All text below the element: comments split text nodes but never cut the value short. */
export function text(element: XmlElement): string {
  return (element.textContent ?? '').trim();
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text for an XML attribute value or element content that Gatehouse writes (AuthnRequests, SP metadata). */
export const escapeXml = (value: string): string => value.replace(/[&<>"']/g, (character) => XML_ESCAPES[character]!);

/** Attacker-supplied text in a failure detail: bounded, one line. */
export function clip(value: string, max = 200): string {
  const line = value.replace(/[\r\n]+/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
