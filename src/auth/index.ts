import { getServiceSettings } from '../config/settings';
import { EntraTokenVerifier } from './verifyEntraToken';

let verifier: EntraTokenVerifier | undefined;

/** The process's one verifier, so that its key and token caches are shared by every function. */
export function getTokenVerifier(): EntraTokenVerifier {
  verifier ??= new EntraTokenVerifier(getServiceSettings());
  return verifier;
}

export type { Caller } from './caller';
export { callerKey, signedInUserId } from './caller';
