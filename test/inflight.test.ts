/**
 * The ingest byte budget (server.maxInflightBytes): while one request holds most of the budget
 * (its Content-Length is held before its body arrives), another that would exceed it gets 503
 * with Retry-After and nothing is stored; gzip bodies are held again after gunzip; once the first
 * request is answered, the retry is accepted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { startTestDaemon, event, type TestDaemon } from './support/daemon.js';
import { parseResponses, postHead, rawConnection } from './support/raw-http.js';
import { waitFor } from './support/export-check.js';

const budget = 1024 * 1024;
let d: TestDaemon | undefined;
afterEach(async () => {
  await d?.stop();
  d = undefined;
});

/** A JSON array of events of about `bytes` bytes. */
function body(bytes: number, id: string): string {
  const pad = 'x'.repeat(2_000);
  const n = Math.ceil(bytes / 2_100);
  return JSON.stringify(Array.from({ length: n }, (_, i) => event({ EVENT_ID: `${id}-${i}`, RESOURCE_ID: pad })));
}

async function inflight(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^logbarge_ingest_inflight_bytes (\S+)$/m.exec(text)?.[1] ?? NaN);
}

describe('server.maxInflightBytes', () => {
  it('refuses a request that would exceed the budget with 503 + Retry-After, stores nothing, and accepts it once the budget frees', async () => {
    d = await startTestDaemon({ server: { maxInflightBytes: budget, maxBodyBytes: budget } });
    const port = Number(new URL(d.url).port);
    const first = body(700 * 1024, `first-${Date.now()}`);
    // The first request declares its length and sends half its body: it holds ~700 KB.
    const held = rawConnection(port);
    const bytes = Buffer.from(first);
    held.socket.write(postHead(bytes.length) + bytes.subarray(0, bytes.length >> 1).toString('latin1'), 'latin1');
    await waitFor('the first request to hold its bytes', async () => (await inflight(d!.url)) >= bytes.length);

    const before = d.snapshot();
    const second = body(500 * 1024, `second-${Date.now()}`);
    const refused = await d.post(second, { raw: true });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(JSON.stringify(refused.body)).toContain('server.maxInflightBytes');
    // No Content-Length (chunked) and gzip: held as received and again as decoded.
    const chunked = await fetch(`${d.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(gzipSync(second));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(503);
    expect(d.snapshot()).toEqual(before);

    // The first request completes: accepted; its bytes are given back, and the retry fits.
    held.socket.write(bytes.subarray(bytes.length >> 1));
    await held.firstAnswer;
    await waitFor('the first answer to arrive whole', () => parseResponses(held.wire()).length === 1);
    expect(parseResponses(held.wire())[0]!.status).toBe(202);
    held.socket.destroy();
    await waitFor('the budget to be free', async () => (await inflight(d!.url)) === 0);
    const retried = await d.post(second, { raw: true });
    expect(retried.status).toBe(202);
  });
});
