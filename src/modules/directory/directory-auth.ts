import type { EntityManager } from '@mikro-orm/core';
import { secretMatchesHash } from '../../crypto/secrets.js';
import { unauthenticated } from '../../errors/app-error.js';
import { isIdOf } from '../../db/id.js';
import { DirectoryStatus, type Directory } from './directory.entity.js';
import { DirectoryRepository } from './directory.repository.js';

/** A directory whose bearer token a SCIM request presented, with the workspace of its environment. */
export interface AuthenticatedDirectory {
  directory: Directory;
  workspaceId: string;
}

const refused = () => unauthenticated('scim.invalid_token', 'The bearer token is not valid for this directory');

/**
 * The directory of a SCIM request: the one its URL names, if the `Authorization: Bearer` token
 * is that directory's (or the one it replaced, during its overlap) and the directory is ACTIVE.
 * Any other case is the same refusal, so a caller learns nothing of other directories. Compared
 * in constant time. `em` is a system EntityManager: no tenant is known before this.
 */
export async function authenticateDirectory(em: EntityManager, directoryId: string, authorization: string | undefined, now = new Date()): Promise<AuthenticatedDirectory> {
  const token = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token || !isIdOf('directory', directoryId)) throw refused();
  const found = await new DirectoryRepository(em).withWorkspace(directoryId);
  if (!found || found.directory.status !== DirectoryStatus.ACTIVE) throw refused();
  const { directory } = found;
  const current = secretMatchesHash(directory.tokenHash, token);
  const previous = directory.previousTokenExpiresAt !== null && directory.previousTokenExpiresAt.getTime() > now.getTime() && secretMatchesHash(directory.previousTokenHash, token);
  if (!current && !previous) throw refused();
  return found;
}
