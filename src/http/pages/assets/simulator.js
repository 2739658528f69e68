// The IdP simulator's answer page: posts the SAML response on to Gatehouse's ACS at once, as an
// IdP's page does (HTTP-POST binding). Without JavaScript, its Continue button does the same.
document.forms[0].submit();
