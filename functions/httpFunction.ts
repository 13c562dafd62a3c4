import type { HttpHandler, HttpMethod } from '@azure/functions';
import type { OperationMetadata } from '../src/openapi/operations';

/** One HTTP-triggered function as functions/index.ts registers it and the local host serves it. */
export interface HttpFunctionDefinition {
  readonly name: string;
  readonly route: string;
  readonly methods: readonly HttpMethod[];
  /** Entra tokens are checked by the pipeline, so the host's function keys are not used. */
  readonly authLevel: 'anonymous';
  readonly handler: HttpHandler;
  /**
   * What GET /openapi.json and connector/ say about the function: one entry per documented path
   * and method. Only the catch-all has none; src/openapi/document.ts refuses any other function
   * without it, so a new function fails the OpenAPI tests until it is documented.
   */
  readonly openApi?: readonly OperationMetadata[];
}

/** Graph serves every route under both versions; ids are validated by handlers, not routes. */
export function graphRoute(path: string): string {
  return `{apiVersion:regex(^(v1\\.0|beta)$)}/${path}`;
}

/** An optional trailing `$ref` segment: the seeds post both with and without it. */
export const optionalRef = '{ref:regex(^\\$ref$)?}';
