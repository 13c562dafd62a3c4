import { HttpRequest, type HttpRequestInit } from '@azure/functions';

/**
 * What the worker's HttpRequest constructor takes besides the public HttpRequestInit: the
 * prebuilt fetch Request it wraps (`nativeRequest`, see InternalHttpRequestInit in
 * @azure/functions' src/http/HttpRequest.ts). It is how the worker passes a streamed body.
 */
interface StreamedRequestInit extends HttpRequestInit {
  readonly nativeRequest: Request;
}

/**
 * An HttpRequest built as the worker builds it under HTTP streams (createStreamRequest in
 * @azure/functions' src/http/HttpRequest.ts): a fetch Request, whose body (if any) is read only
 * as the handler reads it, and the route parameters beside it.
 */
export function streamedHttpRequest(nativeRequest: Request, params: Record<string, string>): HttpRequest {
  const init: StreamedRequestInit = { nativeRequest, params };
  return new HttpRequest(init);
}
