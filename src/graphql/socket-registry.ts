import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';

/**
 * The open GraphQL WebSockets of this process by API key and by client address: what the
 * connection caps count, and how a revoked key's sockets are found and closed at once.
 */
export class SocketRegistry {
  private readonly byKey = new Map<string, Set<WebSocket>>();
  private readonly byAddress = new Map<string, Set<WebSocket>>();
  private readonly rechecks = new Map<WebSocket, () => void>();

  /** `recheck` checks the socket's key again (and closes the socket when it no longer works). */
  add(socket: WebSocket, apiKeyId: string, address: string | null, recheck: () => void): void {
    this.rechecks.set(socket, recheck);
    const entries: [Map<string, Set<WebSocket>>, string][] = [[this.byKey, apiKeyId]];
    if (address) entries.push([this.byAddress, address]);
    for (const [index, key] of entries) {
      let set = index.get(key);
      if (!set) index.set(key, (set = new Set()));
      set.add(socket);
    }
    socket.once('close', () => {
      this.rechecks.delete(socket);
      for (const [index, key] of entries) {
        const set = index.get(key);
        set?.delete(socket);
        if (set?.size === 0) index.delete(key);
      }
    });
  }

  countOfKey(apiKeyId: string): number {
    return this.byKey.get(apiKeyId)?.size ?? 0;
  }

  countOfAddress(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /** Closes every socket of a key that no longer works (4403, as a failed recheck does). */
  closeKey(apiKeyId: string): void {
    for (const socket of this.byKey.get(apiKeyId) ?? []) socket.close(CloseCode.Forbidden, 'Forbidden: the API key is no longer valid');
  }

  /** Checks every socket's key again: revocation notices may have been missed (LISTEN reconnected). */
  recheckAll(): void {
    for (const recheck of this.rechecks.values()) recheck();
  }
}
