/**
 * jest's asymmetric matchers are typed `any`; returned as `unknown` they can sit inside a typed
 * expectation without spreading `any` through it (oxlint's no-unsafe-assignment).
 */
export const anyString = (): unknown => expect.any(String);
export const matching = (pattern: RegExp | string): unknown => expect.stringMatching(pattern);
/** expect.objectContaining, typed `unknown` for the same reason. */
export const containing = (properties: Record<string, unknown>): unknown => expect.objectContaining(properties);
