import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SamlFailureReason, SamlValidationPolicy } from '../../src/modules/connection/saml/saml-validation.types.js';
import { validateSamlResponse } from '../../src/modules/connection/saml/validate-saml-response.js';
import {
  assertionOf,
  createSigningKey,
  isoIn,
  signElement,
  SP,
  TestIdp,
  toBase64,
  withoutSignatures,
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
  it('refuses an EncryptedAssertion (not supported yet)', async () => {
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
