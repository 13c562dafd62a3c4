import type { HttpHandler, HttpMethod } from '@azure/functions';

/** One HTTP-triggered function as functions/index.ts registers it and the local host serves it. */
export interface HttpFunctionDefinition {
  readonly name: string;
  readonly route: string;
  readonly methods: readonly HttpMethod[];
  /** Entra tokens are checked by the pipeline, so the host's function keys are not used. */
  readonly authLevel: 'anonymous';
  readonly handler: HttpHandler;
}

/** Graph serves every route under both versions; ids are validated by handlers, not routes. */
export function graphRoute(path: string): string {
  return `{apiVersion:regex(^(v1\\.0|beta)$)}/${path}`;
}

/** An optional trailing `$ref` segment: the seeds post both with and without it. */
export const optionalRef = '{ref:regex(^\\$ref$)?}';
