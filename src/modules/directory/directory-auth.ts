import type { EntityManager } from '@mikro-orm/core';
import { secretMatchesHash } from '../../crypto/secrets.js';
import { AppError } from '../../errors/app-error.js';
import { isIdOf } from '../../db/id.js';
import { DirectoryStatus, type Directory } from './directory.entity.js';
import { DirectoryRepository } from './directory.repository.js';

/** A directory whose bearer token a SCIM request presented, with the workspace of its environment. */
export interface AuthenticatedDirectory {
  directory: Directory;
  workspaceId: string;
}

/** Why a request was refused, for the audit trail (the caller only ever sees the same 401). */
export type DirectoryAuthFailureReason = 'no_token' | 'unknown_directory' | 'inactive' | 'token_mismatch';

/**
 * The one refusal of a SCIM request's credentials. It carries, for the audit trail only, why,
 * and the directory the URL named when there is one.
 */
export class DirectoryAuthFailure extends AppError {
  constructor(
    readonly reason: DirectoryAuthFailureReason,
    readonly found: AuthenticatedDirectory | null,
  ) {
    super('UNAUTHENTICATED', 'scim.invalid_token', 'The bearer token is not valid for this directory');
  }
}

/**
 * The directory of a SCIM request: the one its URL names, if the `Authorization: Bearer` token
 * is that directory's (or the one it replaced, during its overlap) and the directory is ACTIVE.
 * Any other case is the same refusal, so a caller learns nothing of other directories. Compared
 * in constant time. `em` is a system EntityManager: no tenant is known before this.
 */
export async function authenticateDirectory(em: EntityManager, directoryId: string, authorization: string | undefined, now = new Date()): Promise<AuthenticatedDirectory> {
  const token = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!isIdOf('directory', directoryId)) throw new DirectoryAuthFailure('unknown_directory', null);
  const found = await new DirectoryRepository(em).withWorkspace(directoryId);
  if (!found) throw new DirectoryAuthFailure('unknown_directory', null);
  if (!token) throw new DirectoryAuthFailure('no_token', found);
  if (found.directory.status !== DirectoryStatus.ACTIVE) throw new DirectoryAuthFailure('inactive', found);
  const { directory } = found;
  const current = secretMatchesHash(directory.tokenHash, token);
  const previous = directory.previousTokenExpiresAt !== null && directory.previousTokenExpiresAt.getTime() > now.getTime() && secretMatchesHash(directory.previousTokenHash, token);
  if (!current && !previous) throw new DirectoryAuthFailure('token_mismatch', found);
  return found;
}
