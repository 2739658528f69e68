import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, X509Certificate } from 'node:crypto';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SamlFailureReason, SamlValidationPolicy } from '../../src/modules/connection/saml/saml-validation.types.js';
import { validateSamlResponse } from '../../src/modules/connection/saml/validate-saml-response.js';
import {
  assertionOf,
  createEncryptionKey,
  createSigningKey,
  encryptAssertionIn,
  isoIn,
  signElement,
  SP,
  TestIdp,
  toBase64,
  withoutSignatures,
  type DataEncryption,
  type EncryptionKey,
  type SigningKey,
} from '../helpers/saml-idp.js';

const IDP_ENTITY_ID = 'https://idp.example.test/metadata';
const MINUTE = 60_000;

let idpKey: SigningKey;
let attackerKey: SigningKey;
let idp: TestIdp;

beforeAll(async () => {
  [idpKey, attackerKey] = await Promise.all([createSigningKey('idp.example.test'), createSigningKey('attacker.test')]);
  idp = new TestIdp(IDP_ENTITY_ID, idpKey);
});

function policy(overrides: Partial<SamlValidationPolicy> = {}): SamlValidationPolicy {
  return {
    idpEntityId: IDP_ENTITY_ID,
    idpCertificates: [idpKey.cert],
    spEntityId: SP.entityId,
    acsUrl: SP.acsUrl,
    requireSignedAssertion: false,
    allowSha1: false,
    clockSkewMs: 2 * MINUTE,
    ...overrides,
  };
}

async function validate(xml: string, overrides: Partial<SamlValidationPolicy> = {}) {
  return validateSamlResponse(toBase64(xml), policy(overrides));
}

async function expectFailure(xml: string, reason: SamlFailureReason, overrides: Partial<SamlValidationPolicy> = {}) {
  const result = await validate(xml, overrides);
  expect(result).toMatchObject({ ok: false, reason });
  return result;
}

async function expectSuccess(xml: string, overrides: Partial<SamlValidationPolicy> = {}) {
  const result = await validate(xml, overrides);
  if (!result.ok) throw new Error(`expected success, got ${result.reason}: ${result.detail}`);
  return result;
}

/** The IdP's assertion turned into the attacker's: another subject, another ID, no signature. */
function evilCopy(assertion: string): string {
  return withoutSignatures(assertion)
    .replace(/ID="[^"]+"/, 'ID="_evil_assertion"')
    .replace(/(<saml:NameID[^>]*>)[^<]*/, '$1admin@example.com');
}

describe('SAML response validation: accepted responses', () => {
  it.each([
    ['a signed Response', 'response', { requireSignedAssertion: false }],
    ['a signed Assertion', 'assertion', { requireSignedAssertion: true }],
    ['a signed Response and a signed Assertion, both required', 'both', { requireSignedAssertion: true, requireSignedResponse: true }],
  ] as const)('accepts %s from the IdP and reads the verified assertion', async (_name, sign, overrides) => {
    const xml = await idp.response({
      sign,
      nameId: 'ada@example.com',
      attributes: { email: ['ada@example.com'], groups: ['admins', 'staff'] },
    });
    const result = await expectSuccess(xml, overrides);
    expect(result.assertionId).toBe(/ID="(_assert[^"]+)"/.exec(xml)![1]);
    expect(result).toMatchObject({
      issuer: IDP_ENTITY_ID,
      nameId: 'ada@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      sessionIndex: '_session_0001',
      inResponseTo: '_req_0001',
    });
    expect({ ...result.attributes }).toEqual({ email: ['ada@example.com'], groups: ['admins', 'staff'] });
    expect(result.notOnOrAfter.getTime()).toBeGreaterThan(Date.now());
    expect(result.rememberUntil.getTime()).toBe(result.notOnOrAfter.getTime() + 2 * MINUTE);
  });

  it('accepts RSA-SHA512 signatures', async () => {
    await expectSuccess(await idp.response({ sign: 'both', algorithm: 'sha512' }), { requireSignedAssertion: true });
  });

  it('accepts a response without Destination (it is optional when unsigned)', async () => {
    await expectSuccess(await idp.response({ sign: 'assertion', values: { Destination: null } }));
  });

  it.each(['response', 'assertion', 'both'] as const)(
    'accepts namespace prefixes declared only on the Response (signed %s)',
    async (sign) => {
      const rootOnly = (doc: string) => doc.replace(/(<saml:Assertion) xmlns:xsi="[^"]*" xmlns:xs="[^"]*" xmlns:saml="[^"]*"/, '$1');
      const xml = await idp.response({ sign, beforeSigning: rootOnly });
      expect(xml).toMatch(/<saml:Assertion ID=/);
      expect((await expectSuccess(xml)).nameId).toBe('ada@example.com');
    },
  );

  it('keeps an attribute named __proto__ as data', async () => {
    const result = await expectSuccess(await idp.response({ sign: 'both', attributes: { ['__proto__']: ['x'], role: ['r'] } }));
    expect(Object.getPrototypeOf(result.attributes)).toBeNull();
    expect(Object.entries(result.attributes)).toEqual([
      ['__proto__', ['x']],
      ['role', ['r']],
    ]);
  });

  it('accepts the certificate as base64 DER as well as PEM', async () => {
    const der = idpKey.cert.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    await expectSuccess(await idp.response({ sign: 'response' }), { idpCertificates: [der] });
  });

  it('accepts a document edited then re-signed with the IdP key (control for the re-signing helper)', async () => {
    const xml = withoutSignatures(await idp.response({ sign: 'assertion' })).replace('ada@example.com', 'grace@example.com');
    const result = await expectSuccess(signElement(xml, 'assertion', idpKey), { requireSignedAssertion: true });
    expect(result.nameId).toBe('grace@example.com');
  });
});

describe('SAML response validation: signatures', () => {
  it('refuses an unsigned response', async () => {
    await expectFailure(withoutSignatures(await idp.response({ sign: 'both' })), 'unsigned');
  });

  it('refuses a Response-only signature when the policy requires a signed Assertion', async () => {
    await expectFailure(await idp.response({ sign: 'response' }), 'unsigned', { requireSignedAssertion: true });
  });

  it('refuses an Assertion-only signature when the policy requires a signed Response', async () => {
    await expectFailure(await idp.response({ sign: 'assertion' }), 'unsigned', { requireSignedResponse: true });
  });

  it("refuses a response signed by an attacker's self-signed key that carries its own certificate in KeyInfo", async () => {
    const attacker = new TestIdp(IDP_ENTITY_ID, attackerKey);
    const xml = await attacker.response({ sign: 'both' });
    const attackerCertBase64 = attackerKey.cert.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    expect(xml).toContain(attackerCertBase64);
    await expectFailure(xml, 'bad_signature');
    await expectFailure(xml, 'bad_signature', { requireSignedAssertion: true });
  });

  it('refuses an assertion edited and re-signed by the attacker with its certificate in KeyInfo', async () => {
    const genuine = withoutSignatures(await idp.response({ sign: 'assertion' }));
    const forged = signElement(genuine.replace('ada@example.com', 'admin@example.com'), 'assertion', attackerKey);
    expect(forged).toContain('<ds:X509Certificate>');
    await expectFailure(forged, 'bad_signature', { requireSignedAssertion: true });
  });

  it('refuses an attribute value changed after signing', async () => {
    const xml = await idp.response({ sign: 'assertion', attributes: { groups: ['staff'] } });
    const tampered = xml.replace('<saml:AttributeValue>staff<', '<saml:AttributeValue>admins<');
    expect(tampered).not.toBe(xml);
    await expectFailure(tampered, 'bad_signature');
  });

  it('refuses a NameID changed after the Response was signed', async () => {
    const xml = await idp.response({ sign: 'response' });
    await expectFailure(xml.replace('>ada@example.com<', '>admin@example.com<'), 'bad_signature');
  });

  it('refuses a broken Response signature even when the Assertion signature verifies', async () => {
    const xml = await idp.response({ sign: 'both', values: { ID: '_resp_fixed' } });
    const tampered = xml.replace(/(<samlp:Response[^>]*IssueInstant=")[^"]+"/, '$12020-01-01T00:00:00Z"');
    expect(tampered).not.toBe(xml);
    await expectFailure(tampered, 'bad_signature', { requireSignedAssertion: true });
  });

  it('refuses SHA-1 signatures unless the policy allows them', async () => {
    const xml = await idp.response({ sign: 'both', algorithm: 'sha1' });
    const refused = await expectFailure(xml, 'weak_algorithm');
    expect(refused.ok ? '' : refused.detail).toContain('SHA-1');
    await expectSuccess(xml, { allowSha1: true });
  });

  it('refuses a SHA-1 digest under a SHA-256 signature method', async () => {
    const xml = withoutSignatures(await idp.response({ sign: 'response' }));
    const signed = signElement(xml, 'response', idpKey).replace(
      'http://www.w3.org/2001/04/xmlenc#sha256',
      'http://www.w3.org/2000/09/xmldsig#sha1',
    );
    await expectFailure(signed, 'weak_algorithm');
  });

  it('refuses signature algorithms outside the allow-list', async () => {
    const xml = (await idp.response({ sign: 'response' })).replace(
      'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
    );
    await expectFailure(xml, 'unsupported_algorithm');
  });
});

describe('SAML response validation: refused before parsing', () => {
  it('refuses a DOCTYPE', async () => {
    const xml = await idp.response({ sign: 'both' });
    await expectFailure(`<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE samlp:Response>\n${xml}`, 'doctype');
  });

  it('refuses a DOCTYPE after a byte order mark and whitespace, in any case', async () => {
    const xml = await idp.response({ sign: 'both' });
    await expectFailure(`\uFEFF \n\t<!doctype samlp:Response>${xml}`, 'doctype');
  });

  it('refuses entity expansion (billion laughs)', async () => {
    const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('');
    const xml = (await idp.response({ sign: 'assertion' })).replace('>ada@example.com<', '>&lol9;<');
    await expectFailure(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]>${xml}`, 'doctype');
  });

  it('refuses an ENTITY declaration without a DOCTYPE', async () => {
    await expectFailure(`<!ENTITY x SYSTEM "file:///etc/passwd">${await idp.response({ sign: 'both' })}`, 'doctype');
  });

  it('refuses a document above the size cap, before decoding it', async () => {
    const xml = await idp.response({ sign: 'both' });
    await expectFailure(xml, 'too_large', { maxBytes: 1024 });
    const huge = await validateSamlResponse('A'.repeat(8 * 1024 * 1024), policy());
    expect(huge).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('refuses invalid base64 and text that is not XML', async () => {
    expect(await validateSamlResponse('not*base64!', policy())).toMatchObject({ ok: false, reason: 'malformed' });
    expect(await validateSamlResponse('', policy())).toMatchObject({ ok: false, reason: 'malformed' });
    await expectFailure('hello, not xml', 'malformed');
    await expectFailure('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><unclosed>', 'malformed');
  });

  it('accepts base64 split over lines, as some IdPs post it', async () => {
    const base64 = toBase64(await idp.response({ sign: 'both' })).replace(/(.{76})/g, '$1\r\n');
    expect(await validateSamlResponse(base64, policy())).toMatchObject({ ok: true });
  });
});

describe('SAML response validation: structure and XML signature wrapping', () => {
  it('refuses an EncryptedAssertion when no decryption key is configured', async () => {
    const xml = await idp.response({ sign: 'response' });
    const encrypted = withoutSignatures(xml).replace(
      assertionOf(xml),
      '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>',
    );
    await expectFailure(encrypted, 'encrypted_not_supported');
  });

  it('refuses a root that is not a SAML protocol Response', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const result = await expectFailure(assertionOf(xml), 'malformed');
    expect(result.ok ? '' : result.detail).toContain('not a SAML 2.0 protocol Response');
  });

  it('refuses the signed assertion wrapped in Extensions next to an evil copy (XSW)', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const original = assertionOf(xml);
    const wrapped = xml.replace(original, `<samlp:Extensions>${original}</samlp:Extensions>${evilCopy(original)}`);
    await expectFailure(wrapped, 'not_one_assertion', { requireSignedAssertion: true });
  });

  it('refuses an evil copy that keeps the signed assertion ID (XSW)', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const original = assertionOf(xml);
    const id = /ID="([^"]+)"/.exec(original)![1]!;
    const evil = evilCopy(original).replace('ID="_evil_assertion"', `ID="${id}"`);
    const wrapped = xml.replace(original, `<samlp:Extensions>${original}</samlp:Extensions>${evil}`);
    const result = await expectFailure(wrapped, 'malformed');
    expect(result.ok ? '' : result.detail).toContain('more than once');
  });

  it('refuses an evil Response wrapping the signed original (XSW)', async () => {
    const original = await idp.response({ sign: 'response' });
    const evil =
      '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ' +
      `ID="_evil_response" Version="2.0" IssueInstant="${isoIn(0)}" Destination="${SP.acsUrl}">` +
      `<saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer><samlp:Extensions>${original}</samlp:Extensions>` +
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
      `${evilCopy(assertionOf(original))}</samlp:Response>`;
    await expectFailure(evil, 'malformed');
  });

  it("refuses an evil Response that takes the original's signature and hides the original in ds:Object (XSW1)", async () => {
    const original = await idp.response({ sign: 'response' });
    const signature = /<ds:Signature\b[\s\S]*<\/ds:Signature>/.exec(original)![0];
    const withObject = signature.replace('</ds:Signature>', `<ds:Object>${withoutSignatures(original)}</ds:Object></ds:Signature>`);
    const evil = withoutSignatures(original)
      .replace(/ID="_resp[^"]+"/, 'ID="_evil_response"')
      .replace('</saml:Issuer>', `</saml:Issuer>${withObject}`)
      .replace(assertionOf(original), evilCopy(assertionOf(original)));
    await expectFailure(evil, 'malformed');
  });

  it('refuses two assertions, one signed and one not', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const original = assertionOf(xml);
    await expectFailure(xml.replace(original, `${original}${evilCopy(original)}`), 'not_one_assertion');
    await expectFailure(xml.replace(original, `${evilCopy(original)}${original}`), 'not_one_assertion');
  });

  it('refuses an evil assertion carrying a signature that references another element (XSW)', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const original = assertionOf(xml);
    const signature = /<ds:Signature\b[\s\S]*<\/ds:Signature>/.exec(original)![0];
    const evil = evilCopy(original).replace('</saml:Issuer>', `</saml:Issuer>${signature}`);
    await expectFailure(xml.replace(original, evil), 'bad_signature', { requireSignedAssertion: true });
  });

  it('refuses a signature placed elsewhere than on the Response or the Assertion', async () => {
    const xml = await idp.response({ sign: 'assertion' });
    const signature = /<ds:Signature\b[\s\S]*<\/ds:Signature>/.exec(xml)![0];
    const moved = xml.replace(signature, '').replace('</saml:Subject>', `<saml:Extra>${signature}</saml:Extra></saml:Subject>`);
    await expectFailure(moved, 'malformed');
  });

  it.each(['response', 'assertion', 'both'] as const)(
    'keeps the whole NameID when a comment is injected into it (signed %s)',
    async (sign) => {
      const xml = await idp.response({ sign, nameId: 'user@example.com.evil.com' });
      const injected = xml.replace('>user@example.com.evil.com<', '>user@example.com<!---->.evil.com<');
      expect(injected).not.toBe(xml);
      const result = await expectSuccess(injected);
      expect(result.nameId).toBe('user@example.com.evil.com');
    },
  );
});

describe('SAML response validation: issuer, audience, destination, recipient, status', () => {
  it('refuses a response from another issuer, even signed with the trusted key', async () => {
    const other = new TestIdp('https://other-idp.example.test/metadata', idpKey);
    await expectFailure(await other.response({ sign: 'both' }), 'issuer');
  });

  it('refuses an assertion Issuer that differs from a correct Response Issuer', async () => {
    const xml = await idp.response({
      sign: 'both',
      beforeSigning: (doc) =>
        doc.replace(/(<saml:Assertion\b[\s\S]*?<saml:Issuer>)[^<]+/, '$1https://other-idp.example.test/metadata'),
    });
    const result = await expectFailure(xml, 'issuer');
    expect(result.ok ? '' : result.detail).toContain('assertion Issuer');
  });

  it('refuses an audience that is not this service provider', async () => {
    await expectFailure(await idp.response({ sign: 'both', values: { Audience: 'https://other-sp.example.test' } }), 'audience');
  });

  it('refuses a Destination that is not the ACS URL', async () => {
    await expectFailure(
      await idp.response({ sign: 'both', values: { Destination: 'https://other-sp.example.test/acs' } }),
      'destination',
    );
  });

  it('refuses a bearer Recipient that is not the ACS URL', async () => {
    await expectFailure(
      await idp.response({ sign: 'both', values: { SubjectRecipient: 'https://other-sp.example.test/acs' } }),
      'recipient',
    );
  });

  it('refuses a non-Success status even with a signed assertion, and says which status', async () => {
    const xml = await idp.response({ sign: 'both', values: { StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Requester' } });
    const result = await expectFailure(xml, 'status');
    expect(result.ok ? '' : result.detail).toContain('urn:oasis:names:tc:SAML:2.0:status:Requester');
  });

  it('names the second-level status code of an unsigned error response', async () => {
    const xml = withoutSignatures(
      await idp.response({
        sign: 'response',
        values: { StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' },
        beforeSigning: (doc) =>
          doc.replace(
            /<samlp:StatusCode Value="([^"]+)"\/>/,
            '<samlp:StatusCode Value="$1"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode>',
          ),
      }),
    );
    const result = await expectFailure(xml, 'status');
    expect(result.ok ? '' : result.detail).toContain('AuthnFailed');
  });

  it('refuses a Subject without NameID', async () => {
    const xml = await idp.response({ sign: 'both', beforeSigning: (doc) => doc.replace(/<saml:NameID\b[^>]*>[^<]*<\/saml:NameID>/, '') });
    await expectFailure(xml, 'no_subject');
  });

  it('refuses an assertion without AuthnStatement', async () => {
    const xml = await idp.response({
      sign: 'both',
      beforeSigning: (doc) => doc.replace(/<saml:AuthnStatement\b[\s\S]*<\/saml:AuthnStatement>/, ''),
    });
    await expectFailure(xml, 'no_authn_statement');
  });
});

describe('SAML response validation: time', () => {
  it('refuses an expired assertion (Conditions NotOnOrAfter)', async () => {
    const xml = await idp.response({
      sign: 'both',
      values: { ConditionsNotBefore: isoIn(-20 * MINUTE), ConditionsNotOnOrAfter: isoIn(-10 * MINUTE) },
    });
    await expectFailure(xml, 'expired');
  });

  it('refuses an assertion not yet valid beyond the skew (Conditions NotBefore)', async () => {
    await expectFailure(await idp.response({ sign: 'both', values: { ConditionsNotBefore: isoIn(10 * MINUTE) } }), 'not_yet_valid');
  });

  it('accepts NotBefore and NotOnOrAfter within the skew', async () => {
    const xml = await idp.response({
      sign: 'both',
      values: {
        ConditionsNotBefore: isoIn(MINUTE),
        ConditionsNotOnOrAfter: isoIn(-MINUTE),
        SubjectConfirmationDataNotOnOrAfter: isoIn(-MINUTE),
      },
    });
    await expectSuccess(xml);
    await expectFailure(xml, 'not_yet_valid', { clockSkewMs: 0 });
  });

  it('refuses an expired bearer confirmation (SubjectConfirmationData NotOnOrAfter)', async () => {
    const xml = await idp.response({ sign: 'both', values: { SubjectConfirmationDataNotOnOrAfter: isoIn(-10 * MINUTE) } });
    const result = await expectFailure(xml, 'expired');
    expect(result.ok ? '' : result.detail).toContain('SubjectConfirmationData');
  });

  it('refuses a bearer confirmation without NotOnOrAfter', async () => {
    await expectFailure(await idp.response({ sign: 'both', values: { SubjectConfirmationDataNotOnOrAfter: null } }), 'malformed');
    // Also when node-saml's clock checks are off (another `now`): the rule is ours too.
    await expectFailure(await idp.response({ sign: 'both', values: { SubjectConfirmationDataNotOnOrAfter: null } }), 'malformed', {
      now: new Date(),
    });
  });

  it('accepts ADFS-style timestamps with milliseconds and 7 fractional digits', async () => {
    const sevenDigits = (ms: number) => isoIn(ms).replace(/\.(\d{3})Z$/, '.$14567Z');
    const notOnOrAfter = sevenDigits(4 * MINUTE);
    const xml = await idp.response({
      sign: 'both',
      values: {
        IssueInstant: sevenDigits(0),
        ConditionsNotBefore: isoIn(-MINUTE),
        ConditionsNotOnOrAfter: isoIn(5 * MINUTE),
        SubjectConfirmationDataNotOnOrAfter: notOnOrAfter,
      },
    });
    expect(xml).toMatch(/NotOnOrAfter="[^"]+\.\d{7}Z"/);
    const result = await expectSuccess(xml);
    expect(result.notOnOrAfter.toISOString()).toBe(notOnOrAfter.replace(/4567Z$/, 'Z'));
  });

  it('refuses a timestamp that is not a date', async () => {
    await expectFailure(await idp.response({ sign: 'both', values: { SubjectConfirmationDataNotOnOrAfter: 'tomorrow' } }), 'malformed');
  });

  it('validates at the policy instant when one is given', async () => {
    const xml = await idp.response({ sign: 'both' });
    await expectFailure(xml, 'expired', { now: new Date(Date.now() + 60 * MINUTE) });
    await expectFailure(xml, 'not_yet_valid', { now: new Date(Date.now() - 60 * MINUTE) });
    await expectSuccess(xml, { now: new Date() });
  });
});

describe('SAML response validation: InResponseTo', () => {
  it('returns null for an unsolicited response', async () => {
    const result = await expectSuccess(await idp.response({ sign: 'both', values: { InResponseTo: null } }));
    expect(result.inResponseTo).toBeNull();
  });

  it('refuses a Response and a bearer confirmation that answer different requests', async () => {
    const xml = await idp.response({
      sign: 'both',
      beforeSigning: (doc) => doc.replace(/(<saml:SubjectConfirmationData\b[^>]*InResponseTo=")[^"]*"/, '$1_req_other"'),
    });
    await expectFailure(xml, 'in_response_to');
  });

  it("uses the Response's InResponseTo only when the Response signature was verified", async () => {
    const dropFromConfirmation = (doc: string) => doc.replace(/(<saml:SubjectConfirmationData\b[^>]*) InResponseTo="[^"]*"/, '$1');
    const assertionOnly = await expectSuccess(await idp.response({ sign: 'assertion', beforeSigning: dropFromConfirmation }));
    expect(assertionOnly.inResponseTo).toBeNull();
    const both = await expectSuccess(await idp.response({ sign: 'both', beforeSigning: dropFromConfirmation }));
    expect(both.inResponseTo).toBe('_req_0001');
  });
});

describe('SAML response validation: policy errors are programming errors', () => {
  it('throws for a policy without certificates or with an unbounded skew', async () => {
    const xml = toBase64(await idp.response({ sign: 'both' }));
    await expect(validateSamlResponse(xml, policy({ idpCertificates: [] }))).rejects.toThrow(TypeError);
    await expect(validateSamlResponse(xml, policy({ idpCertificates: ['not a certificate'] }))).rejects.toThrow();
    await expect(validateSamlResponse(xml, policy({ clockSkewMs: 24 * 60 * MINUTE }))).rejects.toThrow(RangeError);
  });
});

// What node-saml 5.1.0 accepts when used alone with the same configuration: each of these is
// refused only by our layer. If an upgrade starts refusing one, the row can go.
describe('node-saml 5.1.0 alone accepts what our layer refuses', () => {
  async function nodeSamlAlone(xml: string) {
    const saml = new SAML({
      idpCert: idpKey.cert,
      issuer: SP.entityId,
      callbackUrl: SP.acsUrl,
      audience: SP.entityId,
      validateInResponseTo: ValidateInResponseTo.never,
      wantAuthnResponseSigned: true,
      wantAssertionsSigned: true,
      acceptedClockSkewMs: 2 * MINUTE,
    });
    return saml.validatePostResponseAsync({ SAMLResponse: toBase64(xml) });
  }

  const cases: [string, () => Promise<string>, SamlFailureReason][] = [
    ['a SHA-1 signature', () => idp.response({ sign: 'both', algorithm: 'sha1' }), 'weak_algorithm'],
    ['a DOCTYPE', async () => `<!DOCTYPE samlp:Response>${await idp.response({ sign: 'both' })}`, 'doctype'],
    [
      'a non-Success status with an assertion',
      () => idp.response({ sign: 'both', values: { StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Requester' } }),
      'status',
    ],
    ['any Issuer', () => new TestIdp('https://other-idp.example.test/metadata', idpKey).response({ sign: 'both' }), 'issuer'],
    ['a wrong Recipient', () => idp.response({ sign: 'both', values: { SubjectRecipient: 'https://elsewhere.test/acs' } }), 'recipient'],
    ['a wrong Destination', () => idp.response({ sign: 'both', values: { Destination: 'https://elsewhere.test/acs' } }), 'destination'],
    [
      'an expired bearer confirmation',
      () => idp.response({ sign: 'both', values: { SubjectConfirmationDataNotOnOrAfter: isoIn(-10 * MINUTE) } }),
      'expired',
    ],
  ];

  it.each(cases)('%s', async (_name, build, reason) => {
    const xml = await build();
    const { profile } = await nodeSamlAlone(xml);
    expect(profile?.nameID).toBe('ada@example.com');
    await expectFailure(xml, reason);
  });
});

describe('SAML response validation: encrypted assertions', () => {
  let spKey: EncryptionKey;
  let nextSpKey: EncryptionKey;
  let strangerKey: EncryptionKey;

  beforeAll(async () => {
    [spKey, nextSpKey, strangerKey] = await Promise.all([
      createEncryptionKey('sp.gatehouse.test'),
      createEncryptionKey('next.sp.gatehouse.test'),
      createEncryptionKey('stranger.test'),
    ]);
  });

  const withKeys = (overrides: Partial<SamlValidationPolicy> = {}): Partial<SamlValidationPolicy> => ({
    decryptionKeys: [spKey.privateKey],
    ...overrides,
  });
  const detailOf = (result: { ok: boolean; detail?: string }) => (result.ok ? '' : result.detail);
  const DATA_CIPHER_VALUE = /(<xenc:CipherValue>)([^<]+)(<\/xenc:CipherValue>)/;
  const KEY_CIPHER_VALUE = /(<e:CipherValue>)([^<]+)(<\/e:CipherValue>)/;
  const KEY_METHOD = /<e:EncryptionMethod Algorithm="[^"]+">[\s\S]*?<\/e:EncryptionMethod>/;

  /** A signed assertion from the IdP, as plaintext for an attacker to edit and encrypt. */
  async function signedAssertionResponse(values: Record<string, string | null> = {}) {
    return idp.response({ sign: 'assertion', values, attributes: { email: ['ada@example.com'], groups: ['staff'] } });
  }

  function editCipherText(xml: string, edit: (bytes: Buffer) => void): string {
    return xml.replace(DATA_CIPHER_VALUE, (_all, open: string, value: string, close: string) => {
      const bytes = Buffer.from(value, 'base64');
      edit(bytes);
      return `${open}${bytes.toString('base64')}${close}`;
    });
  }

  /** The EncryptedKey re-wrapped for the SP with another OAEP hash, and its method rewritten. */
  function rewrapKey(xml: string, method: string, oaepHash: string): string {
    const wrapped = Buffer.from(KEY_CIPHER_VALUE.exec(xml)![2]!, 'base64');
    const contentKey = privateDecrypt({ key: spKey.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, wrapped);
    const rewrapped = publicEncrypt(
      { key: new X509Certificate(spKey.cert).publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
      contentKey,
    );
    return xml
      .replace(KEY_METHOD, () => method)
      .replace(KEY_CIPHER_VALUE, (_all, open: string, _value, close: string) => `${open}${rewrapped.toString('base64')}${close}`);
  }

  describe('accepted', () => {
    it.each(['aes256-gcm', 'aes128-cbc', 'aes128-gcm', 'aes256-cbc'] as DataEncryption[])(
      'accepts an encrypted, signed assertion (%s, rsa-oaep-mgf1p) and reads the decrypted one',
      async (data) => {
        const xml = await idp.response({
          sign: 'assertion',
          encrypt: { cert: spKey.cert, data },
          values: { AssertionID: '_encrypted_assertion_1' },
          attributes: { email: ['ada@example.com'], groups: ['admins', 'staff'] },
        });
        expect(xml).toContain('<saml:EncryptedAssertion');
        expect(xml).not.toContain('<saml:Assertion');
        expect(xml).not.toContain('ada@example.com');
        const result = await expectSuccess(xml, withKeys({ requireSignedAssertion: true }));
        expect(result).toMatchObject({
          assertionId: '_encrypted_assertion_1',
          issuer: IDP_ENTITY_ID,
          nameId: 'ada@example.com',
          sessionIndex: '_session_0001',
          inResponseTo: '_req_0001',
        });
        expect({ ...result.attributes }).toEqual({ email: ['ada@example.com'], groups: ['admins', 'staff'] });
      },
    );

    it('accepts a signed Response over the ciphertext around an encrypted, signed assertion', async () => {
      const xml = await idp.response({ sign: 'both', encrypt: { cert: spKey.cert } });
      expect(xml.indexOf('<ds:Signature')).toBeLessThan(xml.indexOf('<saml:EncryptedAssertion'));
      const result = await expectSuccess(xml, withKeys({ requireSignedAssertion: true, requireSignedResponse: true }));
      expect(result.nameId).toBe('ada@example.com');
    });

    it('accepts a signed Response around an encrypted unsigned assertion unless the policy requires a signed Assertion', async () => {
      const xml = await idp.response({ sign: 'response', encrypt: { cert: spKey.cert, data: 'aes128-cbc' } });
      const result = await expectSuccess(xml, withKeys({ requireSignedAssertion: false }));
      expect(result.nameId).toBe('ada@example.com');
      expect(result.inResponseTo).toBe('_req_0001');
      await expectFailure(xml, 'unsigned', withKeys({ requireSignedAssertion: true }));
    });

    it('tries every decryption key: either key of a rotation works, in any order', async () => {
      const toCurrent = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert } });
      const toNext = await idp.response({ sign: 'assertion', encrypt: { cert: nextSpKey.cert } });
      for (const decryptionKeys of [
        [spKey.privateKey, nextSpKey.privateKey],
        [nextSpKey.privateKey, spKey.privateKey],
      ]) {
        await expectSuccess(toCurrent, { decryptionKeys });
        await expectSuccess(toNext, { decryptionKeys });
      }
      await expectFailure(toNext, 'decryption_failed', withKeys());
    });

    it('accepts xmlenc11 rsa-oaep, with its SHA-1 defaults and with SHA-256 for both the digest and MGF1', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert } });
      const defaults = rewrapKey(xml, '<e:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"/>', 'sha1');
      await expectSuccess(defaults, withKeys());
      const sha256 = rewrapKey(
        xml,
        '<e:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep">' +
          '<ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>' +
          '<xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/>' +
          '</e:EncryptionMethod>',
        'sha256',
      );
      await expectSuccess(sha256, withKeys());
      // A SHA-256 digest with MGF1-SHA-1 is standard, but node:crypto has one hash for both.
      const mixed = rewrapKey(
        xml,
        '<e:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep">' +
          '<ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>' +
          '</e:EncryptionMethod>',
        'sha256',
      );
      await expectFailure(mixed, 'unsupported_algorithm', withKeys());
    });

    it('parses the plaintext in the Response namespace context, and ignores an XML declaration before it', async () => {
      const xml = withoutSignatures(await signedAssertionResponse());
      const rootOnly = (assertion: string) =>
        assertion.replace(/(<saml:Assertion) xmlns:xsi="[^"]*" xmlns:xs="[^"]*" xmlns:saml="[^"]*"/, '$1');
      const signed = signElement(xml.replace(assertionOf(xml), rootOnly(assertionOf(xml))), 'assertion', idpKey);
      expect(assertionOf(signed)).toMatch(/^<saml:Assertion ID=/);
      const encrypted = await encryptAssertionIn(signed, spKey.cert, { plaintext: (a) => `<?xml version="1.0" encoding="UTF-8"?>\n${a}` });
      expect((await expectSuccess(encrypted, withKeys({ requireSignedAssertion: true }))).nameId).toBe('ada@example.com');
    });

    it('still accepts plain assertions when decryption keys are configured', async () => {
      await expectSuccess(await idp.response({ sign: 'both' }), withKeys({ requireSignedAssertion: true }));
    });
  });

  describe('refused', () => {
    it('refuses an encrypted assertion when no decryption key is configured', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert } });
      await expectFailure(xml, 'encrypted_not_supported');
      await expectFailure(xml, 'encrypted_not_supported', { decryptionKeys: [] });
    });

    it.each(['aes128-cbc', 'aes256-gcm'] as DataEncryption[])(
      'refuses an assertion encrypted to another key, or altered, without saying which step failed (%s)',
      async (data) => {
        const xml = await idp.response({ sign: 'assertion', encrypt: { cert: strangerKey.cert, data } });
        const wrongKey = await expectFailure(xml, 'decryption_failed', withKeys());
        expect(detailOf(wrongKey)).not.toMatch(/padding|oaep|tag|auth|rsa|utf|pars/i);

        // A ciphertext bent by the sender (no Response signature over it): same answer, same words.
        const ours = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert, data } });
        const tampered = [
          editCipherText(ours, (bytes) => {
            bytes[bytes.length - 17]! ^= 0x80; // CBC: the padding length; GCM: a ciphertext byte
          }),
          editCipherText(ours, (bytes) => {
            bytes[20]! ^= 0x01; // CBC: garbles a block, flips a byte of the next
          }),
          editCipherText(ours, (bytes) => {
            bytes[bytes.length - 1]! ^= 0x01; // CBC: the padding byte itself; GCM: the tag
          }),
        ];
        for (const xmlTampered of tampered) {
          const result = await expectFailure(xmlTampered, 'decryption_failed', withKeys());
          expect(detailOf(result)).toBe(detailOf(wrongKey));
        }
      },
    );

    // Jager and Somorovsky's attack on XML Encryption: with CBC, the sender alters the IdP's
    // ciphertext and learns the plaintext from how the SP's answer differs. Without a Response
    // signature over the ciphertext, every refusal of the plaintext is the decryption failure.
    it('gives only decryption_failed for an AES-CBC plaintext that no signature vouched for', async () => {
      const signed = await signedAssertionResponse();
      const plaintexts: [string, (assertion: string) => string, SamlFailureReason][] = [
        ['a DOCTYPE', (a) => `<!DOCTYPE x>${a}`, 'doctype'],
        ['text only', () => 'plain text, well-formed in its context', 'not_one_assertion'],
        ['two assertions', (a) => `${a}${evilCopy(a)}`, 'not_one_assertion'],
        ['an edited signed assertion', (a) => a.replace('>staff<', '>admins<'), 'bad_signature'],
        ['an unsigned assertion', (a) => withoutSignatures(a), 'unsigned'],
      ];
      const wrongKey = await validate(
        await encryptAssertionIn(signed, strangerKey.cert, { data: 'aes256-cbc' }),
        withKeys(),
      );
      expect(wrongKey).toMatchObject({ ok: false, reason: 'decryption_failed' });
      for (const [name, plaintext, reason] of plaintexts) {
        const cbc = await encryptAssertionIn(signed, spKey.cert, { data: 'aes256-cbc', plaintext });
        expect({ name, result: await validate(cbc, withKeys()) }).toEqual({ name, result: wrongKey });
        // AES-GCM refuses any alteration of a ciphertext: the plaintext is the sender's own.
        const gcm = await encryptAssertionIn(signed, spKey.cert, { data: 'aes256-gcm', plaintext });
        expect({ name, result: await validate(gcm, withKeys()) }).toMatchObject({ name, result: { ok: false, reason } });
        // A Response signature verified over the CBC ciphertext vouches for it just as well.
        const signedCbc = signElement(cbc, 'response', idpKey);
        expect({ name, result: await validate(signedCbc, withKeys({ requireSignedAssertion: true })) }).toMatchObject({
          name,
          result: { ok: false, reason },
        });
      }
      // Once the decrypted assertion's signature verified, the reasons are told again.
      const late = await signedAssertionResponse({ Audience: 'https://other-sp.example.test' });
      await expectFailure(await encryptAssertionIn(late, spKey.cert, { data: 'aes128-cbc' }), 'audience', withKeys());
    });

    it('verifies a Response signature over the ciphertext before decrypting anything', async () => {
      const xml = await idp.response({ sign: 'response', encrypt: { cert: spKey.cert, data: 'aes128-cbc' } });
      const tampered = editCipherText(xml, (bytes) => {
        bytes[bytes.length - 17]! ^= 0x80;
      });
      await expectFailure(tampered, 'bad_signature', withKeys());
      // Signed by an attacker's key instead: refused, whatever it encrypts.
      const resigned = signElement(withoutSignatures(xml), 'response', attackerKey);
      await expectFailure(resigned, 'bad_signature', withKeys());
    });

    it.each([
      ['RSA-PKCS#1 v1.5 key transport', { key: 'rsa-1_5' }],
      ['3DES data encryption', { data: 'tripledes-cbc' }],
    ] as const)('refuses %s as weak_encryption, before decrypting', async (_name, algorithms) => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert, ...algorithms } });
      const result = await expectFailure(xml, 'weak_encryption', withKeys());
      expect(detailOf(result)).toMatch(/rsa-1_5|tripledes-cbc/);
    });

    it('refuses algorithms outside the allow-list', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert, data: 'aes256-cbc' } });
      await expectFailure(xml.replace('xmlenc#aes256-cbc', 'xmlenc#aes192-cbc'), 'unsupported_algorithm', withKeys());
      await expectFailure(xml.replace('xmlenc#rsa-oaep-mgf1p', 'xmlenc#kw-aes256'), 'unsupported_algorithm', withKeys());
      await expectFailure(
        xml.replace(/<xenc:EncryptionMethod Algorithm="[^"]+"\/>/, ''),
        'unsupported_algorithm',
        withKeys(),
      );
    });

    it('refuses an encrypted assertion beside a plain one', async () => {
      const plain = await idp.response({ sign: 'assertion' });
      const encrypted = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert } });
      const encryptedElement = /<saml:EncryptedAssertion[\s\S]*<\/saml:EncryptedAssertion>/.exec(encrypted)![0];
      const original = assertionOf(plain);
      await expectFailure(plain.replace(original, () => `${encryptedElement}${original}`), 'not_one_assertion', withKeys());
      await expectFailure(plain.replace(original, () => `${original}${encryptedElement}`), 'not_one_assertion', withKeys());
      await expectFailure(plain.replace(original, () => `${encryptedElement}${encryptedElement}`), 'not_one_assertion', withKeys());
    });

    it('refuses a DOCTYPE or an entity inside the encrypted plaintext', async () => {
      const xml = withoutSignatures(await signedAssertionResponse());
      const signed = signElement(xml, 'assertion', idpKey);
      await expectFailure(
        await encryptAssertionIn(signed, spKey.cert, { plaintext: (a) => `<!DOCTYPE saml:Assertion [<!ENTITY x "y">]>${a}` }),
        'doctype',
        withKeys(),
      );
      await expectFailure(
        await encryptAssertionIn(signed, spKey.cert, {
          plaintext: (a) => `<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd">${a}`,
        }),
        'doctype',
        withKeys(),
      );
      // An entity reference without its declaration does not parse: a failed decryption.
      await expectFailure(
        await encryptAssertionIn(signed, spKey.cert, { plaintext: (a) => a.replace('>ada@example.com<', '>&xxe;<') }),
        'decryption_failed',
        withKeys(),
      );
    });

    it('refuses decrypted content that is not exactly one Assertion (XSW through the plaintext)', async () => {
      const signed = await signedAssertionResponse();
      const original = assertionOf(signed);
      const responseId = /<samlp:Response[^>]* ID="([^"]+)"/.exec(signed)![1]!;
      const cases: [string, (assertion: string) => string, SamlFailureReason][] = [
        ['the signed original beside an evil copy', (a) => `${evilCopy(a)}${a}`, 'not_one_assertion'],
        ['an evil copy beside the signed original', (a) => `${a}${evilCopy(a)}`, 'not_one_assertion'],
        [
          'the signed original in the Advice of an evil copy',
          (a) => evilCopy(a).replace('</saml:Issuer>', `</saml:Issuer><saml:Advice>${a}</saml:Advice>`),
          'not_one_assertion',
        ],
        [
          'an EncryptedAssertion inside the encrypted data',
          () => '<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>',
          'not_one_assertion',
        ],
        [
          'a Response inside the encrypted data',
          (a) => `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_inner" Version="2.0">${a}</samlp:Response>`,
          'not_one_assertion',
        ],
        ['text beside the assertion', (a) => `${a}trailing`, 'not_one_assertion'],
        [
          'a second Issuer for the Response',
          (a) => `${a}<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">x</saml:Issuer>`,
          'not_one_assertion',
        ],
        ['an element that closes the context early', (a) => `${a}</samlp:Response><samlp:Response>`, 'decryption_failed'],
        ['a duplicate of the Response ID', (a) => a.replace(/ID="_assert[^"]+"/, `ID="${responseId}"`), 'malformed'],
      ];
      for (const [name, plaintext, reason] of cases) {
        const xml = await encryptAssertionIn(signed, spKey.cert, { plaintext });
        const result = await validate(xml, withKeys());
        expect({ name, result }).toMatchObject({ name, result: { ok: false, reason } });
      }
      // Control: the same route with the original plaintext is accepted.
      expect(original).toContain('<ds:Signature');
      await expectSuccess(await encryptAssertionIn(signed, spKey.cert), withKeys({ requireSignedAssertion: true }));
    });

    it('refuses what anyone can encrypt to the SP: an edited, a self-signed or an unsigned assertion', async () => {
      const signed = await signedAssertionResponse();
      const edited = await encryptAssertionIn(signed, spKey.cert, { plaintext: (a) => a.replace('>staff<', '>admins<') });
      await expectFailure(edited, 'bad_signature', withKeys());

      const forged = signElement(withoutSignatures(signed).replace('ada@example.com', 'admin@example.com'), 'assertion', attackerKey);
      await expectFailure(await encryptAssertionIn(forged, spKey.cert), 'bad_signature', withKeys());

      const unsigned = await encryptAssertionIn(withoutSignatures(signed), spKey.cert);
      await expectFailure(unsigned, 'unsigned', withKeys());
    });

    it('reads attributes only from the decrypted, verified assertion', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert }, attributes: { groups: ['staff'] } });
      const outside =
        '<saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>' +
        '</saml:AttributeStatement>';
      const besideEncrypted = xml.replace('</saml:EncryptedAssertion>', () => `</saml:EncryptedAssertion>${outside}`);
      const result = await expectSuccess(besideEncrypted, withKeys({ requireSignedAssertion: true }));
      expect({ ...result.attributes }).toEqual({ groups: ['staff'] });
      // Inside the EncryptedAssertion, next to the EncryptedData: refused outright.
      const inside = xml.replace('</saml:EncryptedAssertion>', () => `${outside}</saml:EncryptedAssertion>`);
      await expectFailure(inside, 'malformed', withKeys());
    });

    it('refuses a signature on the EncryptedAssertion itself', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert } });
      const signature = /<ds:Signature\b[\s\S]*<\/ds:Signature>/.exec(await idp.response({ sign: 'response' }))![0];
      const moved = xml.replace(/<saml:EncryptedAssertion\b[^>]*>/, (start) => `${start}${signature}`);
      expect(moved).not.toBe(xml);
      const result = await expectFailure(moved, 'malformed', withKeys());
      expect(detailOf(result)).toContain('signature is placed');
    });

    it('throws for decryption keys that are not RSA private keys (a configuration bug)', async () => {
      const xml = toBase64(await idp.response({ sign: 'both' }));
      await expect(validateSamlResponse(xml, policy({ decryptionKeys: ['not a key'] }))).rejects.toThrow();
      await expect(validateSamlResponse(xml, policy({ decryptionKeys: [spKey.cert] }))).rejects.toThrow();
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await expect(validateSamlResponse(xml, policy({ decryptionKeys: [ec] }))).rejects.toThrow(TypeError);
    });
  });

  // node-saml 5.1.0 decrypts with xml-encryption 3.1.0 when given `decryptionPvk`; our layer does
  // not use that path. These pin why.
  describe('node-saml 5.1.0 decryption, not used', () => {
    function nodeSamlAlone(xml: string) {
      const saml = new SAML({
        idpCert: idpKey.cert,
        issuer: SP.entityId,
        callbackUrl: SP.acsUrl,
        audience: SP.entityId,
        validateInResponseTo: ValidateInResponseTo.never,
        wantAuthnResponseSigned: false,
        wantAssertionsSigned: true,
        acceptedClockSkewMs: 2 * MINUTE,
        decryptionPvk: spKey.privateKey,
      });
      return saml.validatePostResponseAsync({ SAMLResponse: toBase64(xml) });
    }

    it('decrypts 3DES, which we refuse', async () => {
      const xml = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert, data: 'tripledes-cbc' } });
      const { profile } = await nodeSamlAlone(xml);
      expect(profile?.nameID).toBe('ada@example.com');
      await expectFailure(xml, 'weak_encryption', withKeys());
    });

    it('tells a bad CBC padding from a wrong key by its message (a padding oracle); we do not', async () => {
      const ours = await idp.response({ sign: 'assertion', encrypt: { cert: spKey.cert, data: 'aes128-cbc' } });
      const badPadding = editCipherText(ours, (bytes) => {
        bytes[bytes.length - 17]! ^= 0x80;
      });
      const wrongKey = await idp.response({ sign: 'assertion', encrypt: { cert: strangerKey.cert, data: 'aes128-cbc' } });
      await expect(nodeSamlAlone(badPadding)).rejects.toThrow('callback is not defined');
      // RSA under another key: OAEP's own error, or, when that key's ciphertext is a larger number than our modulus, the RSA one.
      await expect(nodeSamlAlone(wrongKey)).rejects.toThrow(/oaep decoding error|data too large for modulus/);
      const [a, b] = await Promise.all([validate(badPadding, withKeys()), validate(wrongKey, withKeys())]);
      expect(a).toEqual(b);
    });
  });
});
