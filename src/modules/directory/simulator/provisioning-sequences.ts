import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../scim/scim-schema.js';

/**
 * What Okta and Microsoft Entra ID send to a SCIM 2.0 service provider, step by step, as their
 * public provisioning guides document it (Okta: "SCIM 2.0 protocol" reference and "Build a SCIM
 * provisioning integration"; Microsoft: "Tutorial: develop and plan provisioning for a SCIM
 * endpoint" and its request/response examples), each with the quirk a server must take. The
 * provisioning simulator replays them into a directory; the tests replay them too.
 */

export type SimulatedProvider = 'OKTA' | 'ENTRA_ID';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Ids and names a sequence learns as it goes (from responses), and the people it provisions. */
export interface SequenceState {
  /** Unique per run, so a sequence can be replayed into the same directory. */
  tag: string;
  /** The domain of the people's addresses: one of the organization's verified domains links them to users. */
  domain: string;
  /** The name of the pushed group (a group → role mapping may name it). */
  groupName: string;
  ids: Record<string, string | undefined>;
}

export interface SequenceRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Below the directory's base URL: `/Users`, `/Groups/<id>`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface SequenceStep {
  title: string;
  /** What the identity provider does here that a server must expect. */
  quirk: string;
  request: (state: SequenceState) => SequenceRequest;
  /** Reads what later steps need from the response. */
  capture?: (state: SequenceState, response: { status: number; body?: unknown }) => void;
  /** Skipped when this says so (Entra creates a group only when its probe found none). */
  skip?: (state: SequenceState) => string | null;
}

const email = (state: SequenceState, person: string) => `${person}.${state.tag}@${state.domain}`;
const idOf = (state: SequenceState, name: string) => {
  const id = state.ids[name];
  if (!id) throw new Error(`the sequence has no ${name} yet`);
  return id;
};
const captureId = (name: string) => (state: SequenceState, response: { status: number; body?: unknown }) => {
  const id = (response.body as { id?: unknown } | undefined)?.id;
  if (typeof id === 'string') state.ids[name] = id;
};
/** The first resource of a list response, when there is one. */
const captureFirst = (name: string) => (state: SequenceState, response: { status: number; body?: unknown }) => {
  const first = (response.body as { Resources?: { id?: unknown }[] } | undefined)?.Resources?.[0]?.id;
  if (typeof first === 'string') state.ids[name] = first;
};
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const probe = (state: SequenceState, person: string): SequenceRequest => ({
  method: 'GET',
  path: '/Users',
  query: { filter: `userName eq "${email(state, person)}"`, startIndex: '1', count: '100' },
});

const oktaUser = (state: SequenceState, person: string, given: string, family: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA],
  userName: email(state, person),
  name: { givenName: given, familyName: family },
  emails: [{ primary: true, value: email(state, person), type: 'work' }],
  displayName: `${given} ${family}`,
  locale: 'en-US',
  externalId: `00u${state.tag}${person}`,
  groups: [],
  password: `${state.tag}-not-kept`,
  active: true,
  ...extra,
});

export const OKTA_SEQUENCE: SequenceStep[] = [
  {
    title: 'Okta checks whether Ada exists',
    quirk: 'Before every create, Okta looks the user up by userName with startIndex and count.',
    request: (state) => probe(state, 'ada'),
  },
  {
    title: 'Okta creates Ada',
    quirk: 'A password and an empty groups list come with the user: the password is not kept, groups are read-only.',
    request: (state) => ({ method: 'POST', path: '/Users', body: oktaUser(state, 'ada', 'Ada', 'Lovelace') }),
    capture: captureId('ada'),
  },
  {
    title: 'Okta creates Grace',
    quirk: 'Each assigned person is created the same way.',
    request: (state) => ({ method: 'POST', path: '/Users', body: oktaUser(state, 'grace', 'Grace', 'Hopper') }),
    capture: captureId('grace'),
  },
  {
    title: 'Okta reads Ada back',
    quirk: 'Okta fetches the user it made by id.',
    request: (state) => ({ method: 'GET', path: `/Users/${idOf(state, 'ada')}` }),
  },
  {
    title: 'Okta pushes a group',
    quirk: 'Group push creates the group with an empty members list.',
    request: (state) => ({ method: 'POST', path: '/Groups', body: { schemas: [GROUP_SCHEMA], displayName: state.groupName, members: [] } }),
    capture: captureId('group'),
  },
  {
    title: 'Okta replaces the group without a path',
    quirk: 'Right after the create, a path-less replace with the id beside the displayName.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'replace', value: { id: idOf(state, 'group'), displayName: state.groupName } }) }),
  },
  {
    title: 'Okta adds Ada and Grace to the group',
    quirk: 'Member values come without a type; display carries the username.',
    request: (state) => ({
      method: 'PATCH',
      path: `/Groups/${idOf(state, 'group')}`,
      body: patch({ op: 'add', path: 'members', value: [{ value: idOf(state, 'ada'), display: email(state, 'ada') }, { value: idOf(state, 'grace'), display: email(state, 'grace') }] }),
    }),
  },
  {
    title: 'Okta updates Ada\'s profile',
    quirk: 'Profile changes are a PUT of the whole user.',
    request: (state) => ({ method: 'PUT', path: `/Users/${idOf(state, 'ada')}`, body: oktaUser(state, 'ada', 'Ada', 'King', { title: 'Countess of Lovelace' }) }),
  },
  {
    title: 'Okta removes Grace from the group',
    quirk: 'A remove through a value filter on members.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'remove', path: `members[value eq "${idOf(state, 'grace')}"]` }) }),
  },
  {
    title: 'Okta pushes the full member list',
    quirk: '"Push now" replaces members with the whole list.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'replace', path: 'members', value: [{ value: idOf(state, 'ada') }, { value: idOf(state, 'grace') }] }) }),
  },
  {
    title: 'Okta deactivates Grace',
    quirk: 'Unassigning or deactivating a person is a path-less replace of active; Okta never deletes users.',
    request: (state) => ({ method: 'PATCH', path: `/Users/${idOf(state, 'grace')}`, body: patch({ op: 'replace', value: { active: false } }) }),
  },
  {
    title: 'Okta reactivates Grace',
    quirk: 'The same replace with active true.',
    request: (state) => ({ method: 'PATCH', path: `/Users/${idOf(state, 'grace')}`, body: patch({ op: 'replace', value: { active: true } }) }),
  },
  {
    title: 'Okta empties the group',
    quirk: 'replace members with [] removes every member.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'replace', path: 'members', value: [] }) }),
  },
  {
    title: 'Okta deletes the group',
    quirk: 'Unlinking a pushed group with "delete the group in the app".',
    request: (state) => ({ method: 'DELETE', path: `/Groups/${idOf(state, 'group')}` }),
  },
  {
    title: 'Okta deactivates Ada',
    quirk: 'The end of an assignment: deactivated, not deleted.',
    request: (state) => ({ method: 'PATCH', path: `/Users/${idOf(state, 'ada')}`, body: patch({ op: 'replace', value: { active: false } }) }),
  },
];

const entraUser = (state: SequenceState, person: string, given: string, family: string, department: string) => ({
  schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
  externalId: `${person}-${state.tag}`,
  userName: email(state, person),
  active: true,
  displayName: `${given} ${family}`,
  emails: [{ primary: true, type: 'work', value: email(state, person) }],
  meta: { resourceType: 'User' },
  name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
  roles: [],
  [ENTERPRISE_USER_SCHEMA]: { employeeNumber: `${state.tag}-${person}`, department },
});

export const ENTRA_SEQUENCE: SequenceStep[] = [
  {
    title: 'Entra checks whether Ada exists',
    quirk: 'Every create is preceded by a userName eq filter.',
    request: (state) => probe(state, 'ada'),
  },
  {
    title: 'Entra creates Ada',
    quirk: 'The enterprise extension by URN, meta.resourceType and an empty roles list in the body.',
    request: (state) => ({ method: 'POST', path: '/Users', body: entraUser(state, 'ada', 'Ada', 'Lovelace', 'Research') }),
    capture: captureId('ada'),
  },
  {
    title: 'Entra checks whether Grace exists',
    quirk: 'The same probe for each person in scope.',
    request: (state) => probe(state, 'grace'),
  },
  {
    title: 'Entra creates Grace',
    quirk: 'As for Ada.',
    request: (state) => ({ method: 'POST', path: '/Users', body: entraUser(state, 'grace', 'Grace', 'Hopper', 'Navy') }),
    capture: captureId('grace'),
  },
  {
    title: 'Entra looks for the group',
    quirk: 'A displayName filter (its attribute name in any case) without members.',
    request: (state) => ({ method: 'GET', path: '/Groups', query: { excludedAttributes: 'members', filter: `DisplayName eq "${state.groupName}"` } }),
    capture: captureFirst('group'),
  },
  {
    title: 'Entra creates the group',
    quirk: 'Only when the lookup found none; externalId is the Entra object id.',
    skip: (state) => (state.ids.group ? 'The group exists in the directory: Entra matches it instead of creating another.' : null),
    request: (state) => ({ method: 'POST', path: '/Groups', body: { schemas: [GROUP_SCHEMA], externalId: `group-${state.tag}`, displayName: state.groupName, meta: { resourceType: 'Group' }, members: [] } }),
    capture: captureId('group'),
  },
  {
    title: 'Entra adds Ada to the group',
    quirk: 'One member per request, op "Add" capitalised.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'Add', path: 'members', value: [{ value: idOf(state, 'ada') }] }) }),
  },
  {
    title: 'Entra adds Grace to the group',
    quirk: 'As for Ada.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'Add', path: 'members', value: [{ value: idOf(state, 'grace') }] }) }),
  },
  {
    title: 'Entra checks Ada\'s membership',
    quirk: 'A filter on the group\'s id and members[value eq …], without members.',
    request: (state) => ({
      method: 'GET',
      path: '/Groups',
      query: { excludedAttributes: 'members', filter: `id eq "${idOf(state, 'group')}" and members[value eq "${idOf(state, 'ada')}"]` },
    }),
  },
  {
    title: 'Entra updates Ada',
    quirk: 'Capitalised ops; an email replaced through a value filter; an extension attribute by its full path.',
    request: (state) => ({
      method: 'PATCH',
      path: `/Users/${idOf(state, 'ada')}`,
      body: patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: email(state, 'ada') },
        { op: 'Replace', path: 'name.familyName', value: 'King' },
        { op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'Analytical Engines' },
      ),
    }),
  },
  {
    title: 'Entra removes Grace from the group',
    quirk: 'A remove on members with a value list instead of a value filter.',
    request: (state) => ({ method: 'PATCH', path: `/Groups/${idOf(state, 'group')}`, body: patch({ op: 'Remove', path: 'members', value: [{ value: idOf(state, 'grace') }] }) }),
  },
  {
    title: 'Entra disables Grace',
    quirk: 'A soft delete: active replaced with the string "False".',
    request: (state) => ({ method: 'PATCH', path: `/Users/${idOf(state, 'grace')}`, body: patch({ op: 'Replace', path: 'active', value: 'False' }) }),
  },
  {
    title: 'Entra deletes Grace',
    quirk: 'The hard delete, which may come much later, or never.',
    request: (state) => ({ method: 'DELETE', path: `/Users/${idOf(state, 'grace')}` }),
  },
  {
    title: 'Entra disables Ada',
    quirk: 'Out of scope: the same soft delete.',
    request: (state) => ({ method: 'PATCH', path: `/Users/${idOf(state, 'ada')}`, body: patch({ op: 'Replace', path: 'active', value: 'False' }) }),
  },
];

export const SEQUENCES: Record<SimulatedProvider, SequenceStep[]> = { OKTA: OKTA_SEQUENCE, ENTRA_ID: ENTRA_SEQUENCE };
