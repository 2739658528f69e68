import { ConfigError } from '../config.js';
import { DataDirInUseError } from '../db/data-dir-lock.js';
import { describeDatabaseError, isDatabaseError } from '../db/db-errors.js';
import { AppError } from '../errors/app-error.js';

/**
 * Runs an operator command and sets the exit code: its own result (0 when none), or 1 after a
 * failure. Expected failures (bad configuration, a data folder in use, a domain error such as
 * an unknown workspace) print one line to stderr; anything else prints the stack, a database
 * error without its statement (which holds the values it wrote, such as a new key's hash).
 */
export async function runCommand(command: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await command()) ?? 0;
  } catch (error) {
    if (error instanceof DataDirInUseError || error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
    } else if (error instanceof AppError && error.expose) {
      console.error(`error: ${error.message} (${error.code})`);
    } else {
      console.error(isDatabaseError(error) ? describeDatabaseError(error).stack : error);
    }
    process.exitCode = 1;
  }
}
