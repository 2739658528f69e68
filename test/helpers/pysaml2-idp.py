#!/usr/bin/python3
"""A SAML IdP built on pysaml2, whose signatures come from xmlsec1 (libxml2 + OpenSSL).

A second signer next to samlify (test/helpers/saml-idp.ts), sharing no code with node-saml or
xml-crypto. Run with Debian's interpreter (python3-pysaml2, xmlsec1): /usr/bin/python3.

Reads JSON jobs on stdin, one per line, and answers each with one line on stdout: the
base64 SAMLResponse, or with "output": "xml" the XML as a JSON string. Importing pysaml2 takes
about a second, so a test keeps one process and sends it all its jobs. A job:
  idpEntityId, spEntityId, acsUrl, inResponseTo, nameId   strings
  key, cert            PEM file paths, or the PEM text itself
  attributes           {"mail": ["a@b.test"], ...} (default {})
  nameFormat           "uri" (pysaml2's default: known names become urn:oid:... with a
                       FriendlyName) or "basic"
  sign                 "response", "assertion" (default) or "both"
  algorithm            "sha256" (default) or "sha512", for the signature and the digest
A bad job ends the process with a traceback on stderr.
"""
import base64
import json
import os
import sys
import tempfile

from xml.sax.saxutils import quoteattr

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml
from saml2 import xmldsig as ds
from saml2.config import IdPConfig
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NAME_FORMAT_BASIC, NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS
from saml2.server import Server

ALGORITHMS = {
    "sha256": (ds.SIG_RSA_SHA256, ds.DIGEST_SHA256),
    "sha512": (ds.SIG_RSA_SHA512, ds.DIGEST_SHA512),
}


def pem_file(value, directory, name):
    """pysaml2 hands xmlsec1 file paths: PEM text is written to one first."""
    if not value.lstrip().startswith("-----BEGIN"):
        return value
    path = os.path.join(directory, name)
    with open(path, "w") as handle:
        handle.write(value)
    return path


def sp_metadata(entity_id, acs_url):
    """The SP as the IdP knows it: its entity id and its POST ACS."""
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID=%s>'
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:AssertionConsumerService Binding=%s Location=%s index="0"/>'
        '</md:SPSSODescriptor></md:EntityDescriptor>'
    ) % (quoteattr(entity_id), quoteattr(BINDING_HTTP_POST), quoteattr(acs_url))


def respond(job):
    """The signed Response XML for one job."""
    sign = job.get("sign", "assertion")
    if sign not in ("response", "assertion", "both"):
        raise ValueError(f"sign must be response, assertion or both, not {sign!r}")
    sign_alg, digest_alg = ALGORITHMS[job.get("algorithm", "sha256")]

    with tempfile.TemporaryDirectory() as directory:
        config = IdPConfig()
        config.load({
            "entityid": job["idpEntityId"],
            "key_file": pem_file(job["key"], directory, "key.pem"),
            "cert_file": pem_file(job["cert"], directory, "cert.pem"),
            "xmlsec_binary": "/usr/bin/xmlsec1",
            # pysaml2 looks the SP up in metadata (for encryption keys) even when told everything.
            "metadata": {"inline": [sp_metadata(job["spEntityId"], job["acsUrl"])]},
            "service": {"idp": {
                # Required by the config; this IdP never receives a request.
                "endpoints": {"single_sign_on_service": [(job["idpEntityId"] + "/sso", BINDING_HTTP_REDIRECT)]},
                # How long the assertion lives, and how attribute names are written.
                "policy": {"default": {
                    "lifetime": {"minutes": 5},
                    "name_form": NAME_FORMAT_BASIC if job.get("nameFormat") == "basic" else NAME_FORMAT_URI,
                }},
            }},
        })
        response = Server(config=config).create_authn_response(
            identity=job.get("attributes", {}),
            in_response_to=job["inResponseTo"],
            destination=job["acsUrl"],
            sp_entity_id=job["spEntityId"],
            name_id=saml.NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=job["nameId"]),
            authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": job["idpEntityId"]},
            sign_response=sign in ("response", "both"),
            sign_assertion=sign in ("assertion", "both"),
            sign_alg=sign_alg,
            digest_alg=digest_alg,
        )
    # A signed response comes back as the XML text xmlsec1 produced; an unsigned one as an object.
    return response if isinstance(response, str) else str(response)


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        xml = respond(job)
        if job.get("output") == "xml":
            print(json.dumps(xml), flush=True)
        else:
            print(base64.b64encode(xml.encode("utf-8")).decode("ascii"), flush=True)


if __name__ == "__main__":
    main()
