import type { HttpRequest } from '@azure/functions';
import { GraphError, graphErrors } from './errors';

/** SPEC section 4: larger bodies are refused with 413 before they are parsed. */
export const maxBodyBytes = 1024 * 1024;

const utf8 = new TextDecoder('utf-8');
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads a request body that must be JSON: 413 when it is too large, 415 when it is declared
 * as something else. Returns the raw text; parsing (400) comes after authentication.
 *
 * The limit is enforced while reading, so a client streaming 95 MiB costs this process at most
 * 1 MiB and a chunk: a declared Content-Length over the limit is refused without reading, and a
 * chunked body is counted as it arrives and abandoned as soon as it passes the limit. That needs
 * the body as a stream: functions/index.ts turns on HTTP streams, under which request.body is the
 * worker's own connection from the host, not a buffer the host filled first
 * (https://learn.microsoft.com/azure/azure-functions/node-http-stream).
 */
export async function readJsonText(request: HttpRequest): Promise<string> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > maxBodyBytes) throw tooLarge();
  const bytes = await readAtMost(request, maxBodyBytes);
  if (bytes === undefined) throw tooLarge();
  const contentType = request.headers.get('content-type');
  if (bytes.byteLength > 0 && (contentType === null || !jsonMediaType.test(contentType))) {
    throw new GraphError('UnsupportedMediaType', `Content-Type '${contentType ?? ''}' is not supported: send application/json.`);
  }
  return utf8.decode(bytes);
}

/** The whole body if it is at most `limit` bytes; undefined, having stopped reading, if not. */
async function readAtMost(request: HttpRequest, limit: number): Promise<Uint8Array | undefined> {
  // No body at all (GET and HEAD have none under streams): the same as an empty one.
  if (request.body === null) return new Uint8Array(0);
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = value;
    size += chunk.byteLength;
    if (size > limit) {
      // Cancelling stops the reading here. Under the worker the stream wraps its proxy
      // connection's IncomingMessage, and Node destroys a server request without its socket
      // (internal/streams/destroy.js, destroyer), so the 413 still goes out; the host deals with
      // the rest of the upload (the local host discards it with a deadline, as Kestrel does).
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw graphErrors.malformedJson();
  }
}

function tooLarge(): GraphError {
  return new GraphError('RequestEntityTooLarge', `The request body is larger than ${maxBodyBytes} bytes.`);
}
