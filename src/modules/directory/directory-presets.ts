import { DirectoryProvider } from './directory.entity.js';

/** The SCIM base URL of a directory, the "tenant URL" its identity provider calls. */
export const directoryBaseUrl = (publicUrl: string, directoryId: string): string => `${publicUrl.replace(/\/$/, '')}/scim/v2/${directoryId}`;

/** Where each identity provider wants the base URL and the token. */
export const DIRECTORY_SETUP_HINTS: Record<DirectoryProvider, string> = {
  [DirectoryProvider.OKTA]:
    'In Okta: Applications → your app → General → App Settings → Provisioning: SCIM. Then Provisioning → Integration: SCIM connector base URL = baseUrl, Unique identifier field for users = userName, Supported provisioning actions = Push New Users, Push Profile Updates, Push Groups, Authentication Mode = HTTP Header, Authorization = the token. Then To App: enable Create, Update and Deactivate Users.',
  [DirectoryProvider.ENTRA_ID]:
    'In Microsoft Entra admin center: Enterprise applications → your app → Provisioning → Provisioning Mode = Automatic; Admin Credentials: Tenant URL = baseUrl, Secret Token = the token; Test Connection, Save, then Start provisioning.',
  [DirectoryProvider.JUMPCLOUD]:
    'In JumpCloud: SSO Applications → your app → Identity Management → SCIM 2.0: Base URL = baseUrl, Token Key = the token, Test Connection, then Activate.',
  [DirectoryProvider.ONELOGIN]:
    'In OneLogin: Applications → your SCIM Provisioner app → Configuration: SCIM Base URL = baseUrl, SCIM Bearer Token = the token; then Provisioning → Enable provisioning.',
  [DirectoryProvider.GOOGLE]:
    'In the Google Admin console: Apps → Web and mobile apps → your app → Auto-provisioning: Endpoint URL = baseUrl, Access token = the token.',
  [DirectoryProvider.GENERIC]: 'In the identity provider\'s SCIM 2.0 settings: base URL = baseUrl, authentication = HTTP bearer token (Authorization: Bearer <token>).',
};
