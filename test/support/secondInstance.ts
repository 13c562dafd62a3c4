import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Another instance of the service in its own process (src/local/start.js, as `npm start` runs
 * it), configured like the test's own host: same issuer, same tenants, same store behind the same
 * fault proxy (the TestService wrote those settings to process.env). Nothing in process memory is
 * shared with the test's host, as two Azure Functions instances share nothing but the store.
 */
export class SecondInstance {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {}

  static start(): Promise<SecondInstance> {
    const script = path.resolve(__dirname, '../../src/local/start.js');
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_REQUESTS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`second instance did not start: ${output}`));
      }, 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/[^\s]+)/.exec(output);
        if (match !== null) {
          clearTimeout(timer);
          resolve(new SecondInstance(child, match[1]!));
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`second instance exited (${code}): ${output}`));
      });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  /** Ends the process at once, mid-request (SIGKILL), as a host recycling an instance would. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
