import { describe, expect, it } from 'vitest';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { textFrame } from './subscription-fanout.js';

// ws's frame parser, which its type declarations leave out.
const { Receiver } = ws as unknown as { Receiver: new (options: object) => Writable };

/** Parses frames as a real WebSocket client does (ws's own receiver, client side). */
function receive(frame: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error('binary')) : resolve(data.toString('utf8'))));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('textFrame', () => {
  const prefix = Buffer.from('{"id":"é1","type":"next","payload":');
  // Lengths around each header size of RFC 6455: 7-bit, 16-bit and 64-bit payload lengths.
  for (const size of [0, 80, 125 - prefix.length - 1, 126 - prefix.length - 1, 300, 65_535 - prefix.length - 1, 65_536 - prefix.length - 1, 200_000]) {
    it(`writes a text frame a WebSocket client reads back, ${size} payload bytes`, async () => {
      const payload = Buffer.from('x'.repeat(size));
      const frame = textFrame(prefix, payload);
      expect(frame[0]).toBe(0x81);
      expect(await receive(frame)).toBe(prefix.toString('utf8') + payload.toString('utf8') + '}');
    });
  }

  it('carries multi-byte UTF-8 text unchanged', async () => {
    const payload = Buffer.from(JSON.stringify({ name: 'Zoë — 東京 🚀' }));
    expect(await receive(textFrame(prefix, payload))).toBe(`${prefix.toString('utf8')}{"name":"Zoë — 東京 🚀"}}`);
  });
});
