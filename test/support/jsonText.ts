/**
 * A response body as tests read it: typed, unlike `any`, so that a misspelt property or a wrong use
 * fails to compile. The Graph properties tests look at are declared present: a test that reads one
 * from a body that lacks it gets undefined (or a TypeError one step further) and fails, as it should.
 * A body that is not JSON is undefined at run time.
 */
export interface GraphJson {
  readonly [property: string]: unknown;
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly '@odata.context': string;
  /** Absent on the last page. */
  readonly '@odata.nextLink'?: string;
  readonly '@odata.type': string;
  readonly value: GraphJson[];
  readonly error: { readonly code: string; readonly message: string; readonly innerError: { readonly date: string; readonly 'request-id': string; readonly 'client-request-id': string } };
}

/** A response body as JSON when it is JSON, else undefined: tests look at both text and JSON. */
export function parseJsonOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The body as tests read it (see GraphJson). */
export const graphJsonOf = (text: string): GraphJson => parseJsonOrUndefined(text) as GraphJson;
