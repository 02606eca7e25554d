/**
 * Test support: a real S3-compatible server (fauxqs 1.9.2, in-process) on 127.0.0.1, behind a TCP
 * forwarder whose port stays fixed, so a test can take "S3" down and bring it back on the SAME
 * endpoint with every object intact (outage tests), like a real S3 outage.
 *
 * Credentials: fauxqs accepts any signature. In-process stores get explicit `testCredentials`
 * (createS3Store's `credentials` option, never process.env); child-process daemons get
 * `testCredentialEnv` in their spawn env, so the SDK's default chain picks them up.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';
import type { Config } from '../../src/config/schema.js';
import { openStore } from '../../src/store/open.js';
import type { ObjectStore } from '../../src/store/store.js';

/** Fixed fake credentials for the local server (fauxqs checks none). */
export const testCredentials = { accessKeyId: 'logbarge-test-key', secretAccessKey: 'logbarge-test-secret' } as const;

/** The same credentials as environment variables, for a spawned daemon's env (never set on process.env). */
export const testCredentialEnv: Record<string, string> = {
  AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
  AWS_REGION: 'us-east-1',
};

/** An `s3` config section pointing at `endpoint` (path style, us-east-1, no SSE). */
export function s3TestConfig(endpoint: string, overrides: Partial<Config['s3']> = {}): Config['s3'] {
  return {
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    serverSideEncryption: null,
    kmsKeyId: null,
    storageClass: null,
    ...overrides,
  };
}

/** Opens a store with the test credentials; `maxAttempts` 2 keeps failure tests fast. */
export function openTestStore(destination: string, s3: Config['s3'], options: { maxAttempts?: number } = {}): ObjectStore {
  return openStore(destination, s3, { credentials: testCredentials, maxAttempts: options.maxAttempts ?? 2 });
}

/** A running fauxqs with a stable endpoint. */
export interface S3TestServer {
  /** `http://127.0.0.1:PORT`; stays the same across down()/up(). */
  readonly endpoint: string;
  readonly port: number;
  /** The `s3` config section for this server (with optional overrides). */
  s3Config(overrides?: Partial<Config['s3']>): Config['s3'];
  /** Creates a bucket (idempotent). */
  createBucket(name: string): Promise<void>;
  /** Outage: stops listening and cuts every open connection; objects are kept. */
  down(): Promise<void>;
  /** Ends an outage: listens again on the same port. */
  up(): Promise<void>;
  /** True between down() and up(). */
  readonly isDown: boolean;
  /** Shuts everything down for good. */
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 picks one) and returns the port. */
function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Starts fauxqs on a random loopback port, behind a forwarder on another random loopback port. */
export async function startS3Server(): Promise<S3TestServer> {
  const app = buildApp({ logger: false });
  const inner = new URL(await app.listen({ port: 0, host: '127.0.0.1' }));
  const innerPort = Number(inner.port);

  const sockets = new Set<Socket>();
  const front = createServer((socket) => {
    const upstream = connect(innerPort, '127.0.0.1');
    sockets.add(socket).add(upstream);
    const drop = (): void => {
      socket.destroy();
      upstream.destroy();
      sockets.delete(socket);
      sockets.delete(upstream);
    };
    socket.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    socket.pipe(upstream).pipe(socket);
  });
  const port = await listen(front, 0);
  const endpoint = `http://127.0.0.1:${port}`;
  let down = false;

  const admin = new S3Client({
    endpoint: inner.origin,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: testCredentials,
  });

  const closeFront = (): Promise<void> =>
    new Promise((resolve) => {
      front.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });

  return {
    endpoint,
    port,
    s3Config: (overrides = {}) => s3TestConfig(endpoint, overrides),
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    async down() {
      if (down) return;
      down = true;
      await closeFront();
    },
    async up() {
      if (!down) return;
      await listen(front, port);
      down = false;
    },
    get isDown() {
      return down;
    },
    async stop() {
      if (!down) await closeFront();
      down = true;
      admin.destroy();
      await app.close();
    },
  };
}
