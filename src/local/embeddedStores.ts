import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { closeServer } from './closeServer';
import { scopeQueriesToPartitions } from './partitionScopedQueries';

export interface RunningStore {
  /** COSMOS_ENDPOINT for the embedded Cosmos DB; AzureWebJobsStorage for Azurite. */
  readonly connection: string;
  close(): Promise<void>;
}

/**
 * The embedded Cosmos DB endpoint (@vercel/cosmosdb-server) over plain HTTP on loopback, so the
 * real @azure/cosmos client talks to it without any TLS exception. In memory only. Its queries
 * read only the partition they name, as Cosmos DB's do (see partitionScopedQueries.ts).
 */
export async function startEmbeddedCosmos(port = 0): Promise<RunningStore> {
  // Loaded here, not at module scope: it is a dev dependency the deployed app never needs.
  const { createHttpServer } = require('@vercel/cosmosdb-server') as { createHttpServer: () => Server };
  const server = createHttpServer();
  scopeQueriesToPartitions(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    connection: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

/** Azurite's well-known development account; it is public and works only against Azurite. */
const devAccountName = 'devstoreaccount1';
const devAccountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, timeoutInMs: number): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode} before listening.`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Azurite did not listen on port ${port} within ${timeoutInMs} ms.`);
}

/** Azurite from its npm package, in memory, with telemetry off (it would call the internet). */
export async function startAzurite(): Promise<RunningStore> {
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      require.resolve('azurite/dist/src/azurite.js'),
      '--inMemoryPersistence',
      '--disableTelemetry',
      '--silent',
      '--skipApiVersionCheck',
      '--blobPort',
      String(blobPort),
      '--queuePort',
      String(queuePort),
      '--tablePort',
      String(tablePort),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPort(blobPort, child, 20_000);
  await Promise.all([waitForPort(queuePort, child, 10_000), waitForPort(tablePort, child, 10_000)]);
  const endpoint = (port: number) => `http://127.0.0.1:${port}/${devAccountName}`;
  return {
    connection:
      `DefaultEndpointsProtocol=http;AccountName=${devAccountName};AccountKey=${devAccountKey};` +
      `BlobEndpoint=${endpoint(blobPort)};QueueEndpoint=${endpoint(queuePort)};TableEndpoint=${endpoint(tablePort)};`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
