import type { Server } from 'node:http';

/** Stops a server and drops its keep-alive connections, so that close() does not wait on idle clients. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
