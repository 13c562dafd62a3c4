/** A response body as JSON when it is JSON, else undefined: tests look at both text and JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
