import { parseSamlInstant } from './saml-time.js';
import { samlFailure, type SamlFailure, type SamlSuccess } from './saml-validation.types.js';
import { attribute, childElements, clip, is, NS, text, type XmlElement } from './saml-xml.js';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

export interface AssertionContext {
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  nowMs: number;
  skewMs: number;
  /** InResponseTo of the Response element, and whether its signature was verified. */
  responseInResponseTo: string | null;
  responseSigned: boolean;
}

/**
 * The Web Browser SSO profile's rules (SAML profiles §4.1.4.3), applied to the assertion as it
 * was verified. node-saml checks the Conditions times and the Audience too; it does not check
 * the Issuer, the bearer confirmation's Recipient or NotOnOrAfter, so every rule is here.
 */
export function checkAssertion(assertion: XmlElement, context: AssertionContext): SamlSuccess | SamlFailure {
  const assertionId = attribute(assertion, 'ID');
  if (!assertionId) return samlFailure('malformed', 'the Assertion has no ID');

  const issuers = childElements(assertion, NS.assertion, 'Issuer');
  const issuer = issuers.length === 1 ? text(issuers[0]!) : null;
  if (issuer !== context.idpEntityId) {
    return samlFailure('issuer', `assertion Issuer ${clip(issuer ?? '(none)')} is not ${context.idpEntityId}`);
  }

  const subjects = childElements(assertion, NS.assertion, 'Subject');
  if (subjects.length !== 1) return samlFailure('no_subject', 'the assertion has no single Subject');
  const subject = subjects[0]!;
  const nameIds = childElements(subject, NS.assertion, 'NameID');
  const nameId = nameIds.length === 1 ? text(nameIds[0]!) : '';
  if (!nameId) return samlFailure('no_subject', 'the Subject has no NameID');

  const conditions = checkConditions(assertion, context);
  if ('ok' in conditions) return conditions;

  const confirmation = acceptedBearerConfirmation(subject, context);
  if ('ok' in confirmation) return confirmation;

  // When both say which request this answers, they must agree; an unsigned Response's value is
  // not evidence of anything, so it is used only when the Response signature was verified.
  let inResponseTo = confirmation.inResponseTo;
  if (context.responseInResponseTo !== null) {
    if (inResponseTo !== null && inResponseTo !== context.responseInResponseTo) {
      return samlFailure('in_response_to', 'the Response and its bearer confirmation answer different requests');
    }
    if (inResponseTo === null && context.responseSigned) inResponseTo = context.responseInResponseTo;
  }

  const authnStatements = childElements(assertion, NS.assertion, 'AuthnStatement');
  if (authnStatements.length === 0) return samlFailure('no_authn_statement', 'the assertion has no AuthnStatement');

  const notOnOrAfter = Math.min(conditions.notOnOrAfter ?? Infinity, confirmation.notOnOrAfter);
  return {
    ok: true,
    assertionId,
    inResponseTo,
    issuer,
    nameId,
    nameIdFormat: attribute(nameIds[0]!, 'Format'),
    sessionIndex: attribute(authnStatements[0]!, 'SessionIndex'),
    notOnOrAfter: new Date(notOnOrAfter),
    rememberUntil: new Date(notOnOrAfter + context.skewMs),
    ...readAttributes(assertion),
  };
}

function checkConditions(assertion: XmlElement, context: AssertionContext): { notOnOrAfter: number | null } | SamlFailure {
  const all = childElements(assertion, NS.assertion, 'Conditions');
  if (all.length !== 1) return samlFailure('audience', 'the assertion has no single Conditions element');
  const conditions = all[0]!;

  const window = checkWindow(conditions, context, 'Conditions');
  if ('ok' in window) return window;

  // Restrictions are all required; within one, any Audience matches (SAML core §2.5.1.4).
  const restrictions = childElements(conditions, NS.assertion, 'AudienceRestriction');
  if (restrictions.length === 0) return samlFailure('audience', 'the assertion has no AudienceRestriction');
  for (const restriction of restrictions) {
    const audiences = childElements(restriction, NS.assertion, 'Audience').map(text);
    if (!audiences.includes(context.spEntityId)) {
      return samlFailure('audience', `audience ${clip(audiences.join(', ') || '(none)')} does not include ${context.spEntityId}`);
    }
  }
  return window;
}

interface Confirmation {
  notOnOrAfter: number;
  inResponseTo: string | null;
}

/** The first bearer confirmation that holds; when none does, why the first one failed. */
function acceptedBearerConfirmation(subject: XmlElement, context: AssertionContext): Confirmation | SamlFailure {
  const bearers = childElements(subject, NS.assertion, 'SubjectConfirmation').filter(
    (confirmation) => attribute(confirmation, 'Method') === BEARER,
  );
  if (bearers.length === 0) return samlFailure('no_subject', 'the Subject has no bearer SubjectConfirmation');
  let firstFailure: SamlFailure | null = null;
  for (const bearer of bearers) {
    const result = checkBearer(bearer, context);
    if (!('ok' in result)) return result;
    firstFailure ??= result;
  }
  return firstFailure!;
}

function checkBearer(bearer: XmlElement, context: AssertionContext): Confirmation | SamlFailure {
  const data = childElements(bearer, NS.assertion, 'SubjectConfirmationData');
  if (data.length !== 1) return samlFailure('recipient', 'the bearer confirmation has no SubjectConfirmationData');
  const confirmation = data[0]!;
  const recipient = attribute(confirmation, 'Recipient');
  if (recipient !== context.acsUrl) {
    return samlFailure('recipient', `Recipient ${clip(recipient ?? '(none)')} is not ${context.acsUrl}`);
  }
  const window = checkWindow(confirmation, context, 'SubjectConfirmationData');
  if ('ok' in window) return window;
  // The profile requires it: without one, a captured assertion would stay usable forever.
  if (window.notOnOrAfter === null) return samlFailure('malformed', 'the bearer confirmation has no NotOnOrAfter');
  return { notOnOrAfter: window.notOnOrAfter, inResponseTo: attribute(confirmation, 'InResponseTo') };
}

function checkWindow(element: XmlElement, context: AssertionContext, label: string): { notOnOrAfter: number | null } | SamlFailure {
  const notBeforeText = attribute(element, 'NotBefore');
  const notOnOrAfterText = attribute(element, 'NotOnOrAfter');
  const notBefore = notBeforeText === null ? null : parseSamlInstant(notBeforeText);
  const notOnOrAfter = notOnOrAfterText === null ? null : parseSamlInstant(notOnOrAfterText);
  if (notBeforeText !== null && notBefore === null) return samlFailure('malformed', `${label} NotBefore is not a date`);
  if (notOnOrAfterText !== null && notOnOrAfter === null) return samlFailure('malformed', `${label} NotOnOrAfter is not a date`);
  if (notBefore !== null && context.nowMs + context.skewMs < notBefore) {
    return samlFailure('not_yet_valid', `${label} NotBefore ${notBeforeText} is in the future`);
  }
  if (notOnOrAfter !== null && context.nowMs - context.skewMs >= notOnOrAfter) {
    return samlFailure('expired', `${label} NotOnOrAfter ${notOnOrAfterText} has passed`);
  }
  return { notOnOrAfter };
}

function readAttributes(assertion: XmlElement): { attributes: Record<string, string[]>; friendlyNames: Record<string, string> } {
  // No prototype: an attribute named "__proto__" stays data.
  const attributes: Record<string, string[]> = Object.create(null);
  const friendlyNames: Record<string, string> = Object.create(null);
  for (const statement of childElements(assertion, NS.assertion, 'AttributeStatement')) {
    for (const element of childElements(statement, NS.assertion, 'Attribute')) {
      const name = attribute(element, 'Name');
      if (!name) continue;
      const values = childElements(element, NS.assertion, 'AttributeValue').map(text);
      attributes[name] = [...(attributes[name] ?? []), ...values];
      const friendly = attribute(element, 'FriendlyName');
      if (friendly && friendly !== name) friendlyNames[name] = friendly;
    }
  }
  return { attributes, friendlyNames };
}

export function isAssertionElement(element: XmlElement): boolean {
  return is(element, NS.assertion, 'Assertion');
}
