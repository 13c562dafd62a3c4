/**
 * SPEC section 4's 1 MiB body limit, enforced while the body is read: a client streaming a huge
 * body gets its 413 after about 1 MiB has been read, and the server never holds the rest. The
 * memory figures come from the service running alone in a child process (bodyLimitsServer.ts),
 * so they are the server's own; the boundary tests run against the in-process service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { roles, TestService, type TestResponse } from '../support/testService';
import { graphJsonOf } from '../support/jsonText';
import { anyString } from '../support/matchers';
import type { ServerMemory } from './bodyLimitsServer';

const MiB = 1024 * 1024;
/** SPEC section 4: a body over 1 MiB is refused. Written out, so a changed constant fails here. */
const limit = 1024 * 1024;
const guidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

interface SendOptions {
  readonly token?: string | null;
  /** The body, in the chunks it is written in. */
  readonly chunks?: Iterable<Uint8Array>;
  /** Sends this Content-Length; without it the body goes chunked (Transfer-Encoding: chunked). */
  readonly contentLength?: number;
  readonly contentType?: string;
}

interface Sent extends TestResponse {
  /** Body bytes the client managed to write before it stopped (all of them, or until a close). */
  readonly bytesWritten: number;
  /** Whether the server ended the connection rather than reading the body to its end. */
  readonly closedByServer: boolean;
}

/**
 * One HTTP/1.1 request on a raw connection of its own, as a careless or hostile client sends it:
 * the body written chunk by chunk as the server takes it (backpressure) and, after the answer
 * arrives, written on to its end, keep-alive, unless the server ends the connection. (node:http's
 * client stops writing once the answer has come, which would hide a server that holds the rest.)
 * Resolves once the answer is read and the upload is over.
 */
function send(baseUrl: string, method: string, target: string, options: SendOptions = {}): Promise<Sent> {
  const url = new URL(target, baseUrl);
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, `Content-Type: ${options.contentType ?? 'application/json'}`];
  if (options.token !== undefined && options.token !== null) lines.push(`Authorization: Bearer ${options.token}`);
  const chunked = options.contentLength === undefined;
  lines.push(chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${options.contentLength}`);
  const socket = net.connect(Number(url.port), url.hostname === 'localhost' ? '127.0.0.1' : url.hostname);
  return new Promise<Sent>((resolve, reject) => {
    let received = Buffer.alloc(0);
    let answer: TestResponse | undefined;
    let bytesWritten = 0;
    let uploadOver = false;
    let closedByServer = false;
    const settle = () => {
      if (answer !== undefined && uploadOver) {
        socket.destroy();
        resolve({ ...answer, bytesWritten, closedByServer });
      }
    };
    socket.on('data', (data: Buffer) => {
      if (answer !== undefined) return;
      received = Buffer.concat([received, data]);
      answer = parseResponse(received);
      settle();
    });
    socket.on('error', () => undefined);
    // The server ended the connection: a client stops sending then.
    socket.on('end', () => {
      closedByServer = !uploadOver;
      uploadOver = true;
      settle();
    });
    socket.on('close', () => {
      closedByServer = !uploadOver;
      uploadOver = true;
      if (answer === undefined) reject(new Error(`connection closed without a complete answer: ${received.toString('latin1').slice(0, 200)}`));
      else settle();
    });
    const chunks = (options.chunks ?? [])[Symbol.iterator]();
    const writeHead = () => {
      if (!socket.write(`${lines.join('\r\n')}\r\n\r\n`)) return void socket.once('drain', writeBody);
      writeBody();
    };
    const writeBody = () => {
      for (;;) {
        if (socket.destroyed) return;
        const next = chunks.next();
        if (next.done === true) {
          if (chunked) socket.write('0\r\n\r\n');
          uploadOver = true;
          settle();
          return;
        }
        bytesWritten += next.value.byteLength;
        if (chunked) socket.write(`${next.value.byteLength.toString(16)}\r\n`);
        const written = socket.write(next.value);
        if (chunked) socket.write('\r\n');
        if (!written) return void socket.once('drain', writeBody);
      }
    };
    socket.once('connect', writeHead);
  });
}

/** An HTTP/1.1 response once all of it has arrived (Content-Length or chunked), else undefined. */
function parseResponse(bytes: Buffer): TestResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers = new Headers();
  for (const line of headerLines) headers.append(line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim());
  let body = bytes.subarray(headEnd + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const sizeEnd = body.indexOf('\r\n');
      if (sizeEnd < 0) return undefined;
      const size = parseInt(body.subarray(0, sizeEnd).toString('latin1'), 16);
      if (body.length < sizeEnd + 2 + size + 2) return undefined;
      if (size === 0) break;
      parts.push(body.subarray(sizeEnd + 2, sizeEnd + 2 + size));
      body = body.subarray(sizeEnd + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(headers.get('content-length') ?? 0);
    if (body.length < length) return undefined;
    body = body.subarray(0, length);
  }
  const text = body.toString('utf8');
  return { status: Number(statusLine!.split(' ')[1]), headers, text, json: graphJsonOf(text) };
}

/** `size` bytes of a JSON-looking body, made 64 KiB at a time as they are sent (never held whole). */
function* generatedBody(size: number): Generator<Uint8Array> {
  const prefix = Buffer.from('{"displayName":"');
  yield prefix;
  const filler = Buffer.alloc(64 * 1024, 'a');
  for (let left = size - prefix.length; left > 0; left -= filler.length) yield left >= filler.length ? filler : filler.subarray(0, left);
}

/** A body split into pieces of `size` bytes (sizes that split multi-byte characters on purpose). */
function* inPieces(body: Uint8Array, size: number): Generator<Uint8Array> {
  for (let offset = 0; offset < body.length; offset += size) yield body.subarray(offset, offset + size);
}

/** `value` as JSON followed by spaces up to exactly `size` bytes (JSON allows trailing whitespace). */
function paddedJson(value: unknown, size: number): Buffer {
  const text = Buffer.from(JSON.stringify(value));
  expect(text.length).toBeLessThanOrEqual(size);
  return Buffer.concat([text, Buffer.alloc(size - text.length, ' ')]);
}

function expectTooLarge(response: TestResponse): void {
  expect(response.status).toBe(413);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('request-id')).toMatch(guidLike);
  expect(response.json.error).toMatchObject({
    code: 'RequestEntityTooLarge',
    message: `The request body is larger than ${limit} bytes.`,
    innerError: { 'request-id': response.headers.get('request-id'), 'client-request-id': anyString(), date: anyString() },
  });
}

/** The service in a child process: its memory is then the server's alone. */
class ServerProcess {
  private readonly waiting: ((memory: ServerMemory) => void)[] = [];
  url = '';

  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<ServerProcess> {
    // The environment TestService.start set: the same issuer, tenants and database.
    const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'bodyLimitsServer.js')], { env: process.env, stdio: ['pipe', 'pipe', 'inherit'] });
    const server = new ServerProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bodyLimitsServer exited with ${code}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const message = JSON.parse(line) as { url?: string } & ServerMemory;
        if (message.url !== undefined) {
          server.url = message.url;
          resolve();
        } else server.waiting.shift()?.(message);
      });
    });
    return server;
  }

  memory(): Promise<ServerMemory> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write('memory\n');
    });
  }

  async stop(): Promise<void> {
    this.child.removeAllListeners('exit');
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await exited;
  }
}

const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

describe('a huge body is refused while it is read', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start();
  });
  afterAll(() => server.stop());

  it('ten chunked 95 MiB POSTs without a token and ten with a valid one: each 413 with the Graph envelope, and the server stays under 64 MiB of growth', async () => {
    const token = await service.adminToken();
    // The token is valid for this server, and a body under the limit is served normally.
    const created = await send(server.url, 'POST', '/v1.0/users', {
      token,
      chunks: [Buffer.from(JSON.stringify({ displayName: 'Sized', userPrincipalName: `sized${Date.now()}@contoso.example` }))],
    });
    expect(created.status).toBe(201);
    // Warm the refusal path, so that the baseline includes what the first requests allocate
    // once (compiled code, pools, buffers the sockets keep).
    for (const caller of [null, token]) expectTooLarge(await send(server.url, 'POST', '/v1.0/groups', { token: caller, chunks: generatedBody(95 * MiB) }));

    const before = await server.memory();
    for (let round = 0; round < 10; round += 1) {
      for (const caller of [null, token]) {
        const response = await send(server.url, 'POST', '/v1.0/groups', { token: caller, chunks: generatedBody(95 * MiB) });
        expectTooLarge(response);
      }
    }
    const after = await server.memory();
    console.log(
      [
        'server memory around 20 chunked 95 MiB POSTs (MiB, after a full GC):',
        `  resident ${mib(before.rssBytes)} -> ${mib(after.rssBytes)}; peak resident ${mib(before.maxRssBytes)} -> ${mib(after.maxRssBytes)}`,
        `  heap ${mib(before.heapUsedBytes)} -> ${mib(after.heapUsedBytes)}; external ${mib(before.externalBytes)} -> ${mib(after.externalBytes)}`,
      ].join('\n'),
    );
    // The peak, not only the end state: a server that held one body at a time would pass the
    // second and fail this one.
    expect(after.maxRssBytes - before.maxRssBytes).toBeLessThan(64 * MiB);
    expect(after.rssBytes - before.rssBytes).toBeLessThan(64 * MiB);
    expect(after.heapUsedBytes + after.externalBytes - (before.heapUsedBytes + before.externalBytes)).toBeLessThan(16 * MiB);
  });
});

describe('the 1 MiB boundary', () => {
  const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });

  /** Every POST that takes a body, each with a valid body and the answer that proves it was parsed. */
  const routes: [string, () => Promise<{ path: string; body: unknown; token?: string; status: number; check: (response: TestResponse) => Promise<void> }>][] = [
    [
      'S1 POST /groups/{id}/members/$ref',
      async () => {
        const [group, user] = [await service.createGroup(), await service.createUser()];
        return {
          path: `/v1.0/groups/${group.id}/members/$ref`,
          body: ref(user.id),
          status: 204,
          check: async () => expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true }),
        };
      },
    ],
    [
      'S2 POST /groups/{id}/memberOf/$ref',
      async () => {
        const [parent, child] = [await service.createGroup(), await service.createGroup()];
        return {
          path: `/v1.0/groups/${child.id}/memberOf/$ref`,
          body: ref(parent.id),
          status: 201,
          check: async () => expect(await service.storedEdges(parent.id, child.id)).toEqual({ groupSide: true, memberSide: true }),
        };
      },
    ],
    [
      'S3 POST /me/joinedGroups/{id}/memberOf/$ref',
      async () => {
        const caller = await service.createUser();
        const [parent, mine] = [await service.createGroup(), await service.createGroup()];
        expect((await service.addMember(mine.id, caller.id)).status).toBe(204);
        const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.groupsAdministrator]);
        return {
          path: `/v1.0/me/joinedGroups/${mine.id}/memberOf/$ref`,
          body: ref(parent.id),
          token,
          status: 201,
          check: async () => expect(await service.storedEdges(parent.id, mine.id)).toEqual({ groupSide: true, memberSide: true }),
        };
      },
    ],
    [
      'S4 POST /me/joinedGroups/$ref',
      async () => {
        const [caller, group] = [await service.createUser(), await service.createGroup()];
        const token = await service.userToken(caller.id, ['GroupMember.ReadWrite.All'], [roles.userAdministrator]);
        return {
          path: '/v1.0/me/joinedGroups/$ref',
          body: ref(group.id),
          token,
          status: 201,
          check: async () => expect(await service.storedEdges(group.id, caller.id)).toEqual({ groupSide: true, memberSide: true }),
        };
      },
    ],
    [
      'S5 POST /users/{id}/joinedGroups/$ref',
      async () => {
        const [group, user] = [await service.createGroup(), await service.createUser()];
        return {
          path: `/v1.0/users/${user.id}/joinedGroups/$ref`,
          body: ref(group.id),
          status: 201,
          check: async () => expect(await service.storedEdges(group.id, user.id)).toEqual({ groupSide: true, memberSide: true }),
        };
      },
    ],
    [
      'POST /users',
      async () => {
        const nickname = `b${Date.now()}${Math.round(Math.random() * 1e6)}`;
        return {
          path: '/v1.0/users',
          body: { displayName: 'Zoë Ñandú 山田', userPrincipalName: `${nickname}@contoso.example` },
          status: 201,
          check: async (response) => {
            const stored = await service.request('GET', `/v1.0/users/${response.json.id}`);
            expect(stored.json.displayName).toBe('Zoë Ñandú 山田');
          },
        };
      },
    ],
    [
      'POST /groups',
      async () => {
        const nickname = `b${Date.now()}${Math.round(Math.random() * 1e6)}`;
        return {
          path: '/v1.0/groups',
          body: { displayName: 'Größe ✓', mailNickname: nickname, mailEnabled: false, securityEnabled: true },
          status: 201,
          check: async (response) => {
            const stored = await service.request('GET', `/v1.0/groups/${response.json.id}`);
            expect(stored.json.displayName).toBe('Größe ✓');
          },
        };
      },
    ],
  ];

  it.each(routes)('%s: a body of exactly 1 MiB, chunked in odd pieces, is read and acted on', async (_name, arrange) => {
    const { path: target, body, token, status, check } = await arrange();
    // 65,537-byte pieces: the 1 MiB arrives over 17 writes, none aligned to a character.
    const response = await send(service.baseUrl, 'POST', target, { token: token ?? (await service.adminToken()), chunks: inPieces(paddedJson(body, limit), 65_537) });
    // The body rides along so that a failure shows what the service said.
    expect([response.status, response.text.slice(0, 300)]).toEqual([status, expect.any(String)]);
    await check(response);
  });

  it('multi-byte characters split across single-byte writes arrive intact', async () => {
    const nickname = `s${Date.now()}`;
    const body = Buffer.from(JSON.stringify({ displayName: 'Zoë 山田 😀', userPrincipalName: `${nickname}@contoso.example` }));
    const response = await send(service.baseUrl, 'POST', '/v1.0/users', { token: await service.adminToken(), chunks: inPieces(body, 1) });
    expect(response.status).toBe(201);
    expect(response.json.displayName).toBe('Zoë 山田 😀');
  });

  it.each([
    ['chunked', undefined],
    ['with Content-Length', limit + 1],
  ])('1 MiB and 1 byte, %s, is refused with 413 and stores nothing', async (_how, contentLength) => {
    const group = await service.createGroup();
    const user = await service.createUser();
    const before = await service.snapshotStore();
    const response = await send(service.baseUrl, 'POST', `/v1.0/groups/${group.id}/members/$ref`, {
      token: await service.adminToken(),
      chunks: inPieces(paddedJson(ref(user.id), limit + 1), 65_537),
      ...(contentLength === undefined ? {} : { contentLength }),
    });
    expectTooLarge(response);
    expect(await service.snapshotStore()).toEqual(before);
  });

  it('a declared Content-Length over 1 MiB is refused before any of the body is sent', async () => {
    // Nothing follows the headers: an answer proves the server did not wait for the body.
    const response = await send(service.baseUrl, 'POST', '/v1.0/users', { token: null, contentLength: 95 * MiB, chunks: [] });
    expectTooLarge(response);
  });

  it('an over-limit body is refused before authentication, and a tokenless small body still gets 401', async () => {
    expectTooLarge(await send(service.baseUrl, 'POST', '/v1.0/users', { token: 'not-a-token', chunks: generatedBody(limit + 1) }));
    const unauthenticated = await send(service.baseUrl, 'POST', '/v1.0/users', { token: null, chunks: [Buffer.from('{}')] });
    expect(unauthenticated.status).toBe(401);
  });

  it('the host refuses a declared body over its own 100 MiB limit with a bare 413, before any function runs', async () => {
    const response = await send(service.baseUrl, 'GET', '/health', { token: null, contentLength: 100 * MiB + 1, chunks: [] });
    expect(response.status).toBe(413);
    expect(response.text).toBe('');
  });

  it('a route that takes no body answers a request that carries one, and the connection is not left hanging', async () => {
    const response = await send(service.baseUrl, 'GET', '/health', { token: null, chunks: generatedBody(8 * MiB) });
    expect(response.status).toBe(200);
    const missing = await send(service.baseUrl, 'POST', '/v1.0/nothingHere', { token: null, chunks: generatedBody(8 * MiB) });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NotFound');
  });
});
