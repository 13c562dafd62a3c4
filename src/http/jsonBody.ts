import type { HttpRequest } from '@azure/functions';
import { GraphError, graphErrors } from './errors';

/** SPEC section 4: larger bodies are refused with 413 before they are parsed. */
export const maxBodyBytes = 1024 * 1024;

const utf8 = new TextDecoder('utf-8');
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads a request body that must be JSON: 413 when it is too large, 415 when it is declared
 * as something else. Returns the raw text; parsing (400) comes after authentication.
 */
export async function readJsonText(request: HttpRequest): Promise<string> {
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > maxBodyBytes) throw tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBodyBytes) throw tooLarge();
  const contentType = request.headers.get('content-type');
  if (bytes.byteLength > 0 && (contentType === null || !jsonMediaType.test(contentType))) {
    throw new GraphError('UnsupportedMediaType', `Content-Type '${contentType ?? ''}' is not supported: send application/json.`);
  }
  return utf8.decode(bytes);
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
