import type { FormattedExecutionResult } from 'graphql';

/**
 * Serializes a GraphQL response, replacing one larger than `maxBytes` with an error. The cost
 * model is what keeps results small before they are built; this is the last bound on what one
 * response may put on the wire, whatever the cost model missed.
 */
export function boundedStringify(maxBytes: number): (result: FormattedExecutionResult) => string {
  return (result) => {
    const body = JSON.stringify(result);
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so only a long body needs the exact count.
    if (body.length <= maxBytes / 3 || Buffer.byteLength(body) <= maxBytes) return body;
    return JSON.stringify({
      errors: [
        {
          message: `The response is larger than ${maxBytes} bytes; ask for fewer fields or smaller pages.`,
          extensions: { code: 'RESPONSE_TOO_LARGE', maxBytes },
        },
      ],
    });
  };
}
