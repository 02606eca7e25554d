/**
 * Faults on one machine, loopback only, bounded in count and time: spool disk full, slow clients,
 * the connection cap, TLS, and secrets that must never appear in logs, answers or /metrics.
 */
import { describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';
import { openSpool } from '../src/spool/spool.js';
import { event, startTestDaemon } from './support/daemon.js';
import { within } from './support/export-check.js';
import { parseResponses, postHead, rawConnection } from './support/raw-http.js';

const tlsDir = new URL('./fixtures/tls/', import.meta.url).pathname;

describe('spool disk full', () => {
  it('answers 503, stores nothing of the failed requests, stays consistent and recovers', async () => {
    const d = await startTestDaemon();
    try {
      expect((await d.post([event(), event()])).status).toBe(202);
      const db = d.daemon.spool.db;
      const pages = db.pragma('page_count', { simple: true }) as number;
      // The file may not grow: SQLITE_FULL, as on a full disk (a per-connection limit, so on the
      // append worker's connection too).
      db.pragma(`max_page_count = ${pages}`);
      await d.daemon.appendThread.pragma(`max_page_count = ${pages}`);
      const before = d.snapshot();
      const big = Array.from({ length: 300 }, () => event({ DOMAIN: 'x'.repeat(200) }));
      const refused = await d.post(big);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(d.snapshot()).toEqual(before);
      const unready = await d.request('/readyz');
      expect(unready.status).toBe(503);
      expect(unready.body.reasons).toContain('spool_write_failed');
      expect(unready.body.details.join(' ')).toMatch(/spool write failed/);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((await d.request('/healthz')).status).toBe(200);

      db.pragma('max_page_count = 1073741823'); // space returns
      await d.daemon.appendThread.pragma('max_page_count = 1073741823');
      const again = await d.post(big);
      expect(again.status).toBe(202);
      expect(again.body.accepted).toBe(300);
      let ready = await d.request('/readyz'); // the destination's first verify may still be running
      for (let i = 0; i < 50 && ready.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await d.request('/readyz');
      }
      expect(ready.body).toEqual({ ready: true, reasons: [], details: [] });
      expect(d.snapshot().depth).toBe(before.depth + 300);
    } finally {
      await d.stop();
    }
  });
});

describe('slow clients', () => {
  // node:http enforces server.requestTimeoutMs (and headersTimeout, the same value up to 60 s) in a
  // sweep that server.ts runs every second. For each request still unfinished, the sweep writes
  // this answer and closes the connection, or only closes it when a response to that request has
  // already started; every response of this server is written whole, so that never applies here.
  const timedOut = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

  it('do not block other clients, and are cut off with 408 after requestTimeoutMs', async () => {
    const d = await startTestDaemon({ server: { requestTimeoutMs: 1000 } });
    const port = Number(new URL(d.url).port);
    const slow = Array.from({ length: 20 }, () => {
      const c = rawConnection(port);
      c.socket.write(`${postHead(100_000)}[`);
      const timer = setInterval(() => c.socket.writable && c.socket.write(' '), 100);
      void c.closed.then(() => clearInterval(timer));
      return c;
    });
    try {
      let fastDone = 0;
      let slowClosedFirst = 0;
      const slowClosed = Promise.all(slow.map((s) => s.closed.then((a) => ((slowClosedFirst += fastDone === 0 ? 1 : 0), a))));
      for (let i = 0; i < 10; i++) {
        const a = await d.post([event(), event()]);
        expect(a.status).toBe(202);
        fastDone++;
      }
      expect(slowClosedFirst).toBe(0); // every fast request finished while all 20 slow ones were still open
      const answers = await within(10_000, 'the server to cut off the 20 slow clients', slowClosed);
      expect(answers).toEqual(Array.from({ length: 20 }, () => timedOut));
      expect(d.snapshot().depth).toBe(20);
    } finally {
      for (const s of slow) s.socket.destroy();
      await d.stop();
    }
  });

  it('get exactly one 408, after any earlier answer, in every state of an unfinished request', async () => {
    const key = 'slow-client-key';
    const d = await startTestDaemon({ server: { requestTimeoutMs: 1000, apiKeys: [key] } });
    const port = Number(new URL(d.url).port);
    const authed = `x-api-key: ${key}\r\n`;
    const done = [event(), event()].map((e) => JSON.stringify(e));
    const states: { name: string; first: string; trickle?: string; statuses: number[] }[] = [
      { name: 'connected, nothing sent', first: '', statuses: [408] },
      { name: 'headers trickling', first: 'POST /v1/events HTTP/1.1\r\nHost: x\r\n', trickle: 'X-Slow: 1\r\n', statuses: [408] },
      { name: 'body trickling', first: `${postHead(100_000, authed)}[`, trickle: ' ', statuses: [408] },
      { name: 'chunked body trickling', first: 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n' + `${authed}\r\n1\r\n[\r\n`, trickle: '1\r\n \r\n', statuses: [408] },
      { name: 'body trickling after 100 Continue', first: `${postHead(100_000, `${authed}Expect: 100-continue\r\n`)}[`, trickle: ' ', statuses: [100, 408] },
      { name: 'body trickling after an early 401', first: `${postHead(100_000, 'x-api-key: wrong\r\n')}[`, trickle: ' ', statuses: [401, 408] },
      { name: 'second request on a kept-alive connection, body trickling', first: postHead(Buffer.byteLength(done[0]!), authed) + done[0] + `${postHead(100_000, authed)}[`, trickle: ' ', statuses: [202, 408] },
    ];
    const open = states.map((s) => {
      const c = rawConnection(port);
      c.socket.write(s.first);
      const timer = s.trickle ? setInterval(() => c.socket.writable && c.socket.write(s.trickle!), 100) : undefined;
      void c.closed.then(() => clearInterval(timer));
      return c;
    });
    // A kept-alive connection whose request finished is not a slow request: no 408 for it.
    const idle = rawConnection(port);
    idle.socket.write(postHead(Buffer.byteLength(done[1]!), authed) + done[1]);
    try {
      const answers = await within(10_000, 'the server to cut off every slow request', Promise.all(open.map((c) => c.closed)));
      const seen = answers.map((wire, i) => ({ name: states[i]!.name, statuses: parseResponses(wire).map((r) => r.status), endsWith408: wire.endsWith(timedOut) }));
      expect(seen).toEqual(states.map((s) => ({ name: s.name, statuses: s.statuses, endsWith408: true })));
      expect(idle.socket.closed).toBe(false);
      expect(parseResponses(idle.wire()).map((r) => r.status)).toEqual([202]);
      expect(d.snapshot().depth).toBe(2); // the two finished requests; nothing of the slow ones
    } finally {
      for (const c of [...open, idle]) c.socket.destroy();
      await d.stop();
    }
  });

  // Regression: http.Server#close() also stops node's sweep, so during the drain nothing cut a slow
  // client off, and its connection held up server.close() and the final export cycle indefinitely.
  it('are cut off with 408 during the drain too, so they cannot hold up the final cycle', async () => {
    const d = await startTestDaemon({ server: { requestTimeoutMs: 1000 } });
    const port = Number(new URL(d.url).port);
    expect((await d.post([event(), event()])).status).toBe(202);
    const slow = rawConnection(port);
    slow.socket.write(`${postHead(100_000, 'Expect: 100-continue\r\n')}[`);
    const timer = setInterval(() => slow.socket.writable && slow.socket.write(' '), 100);
    void slow.closed.then(() => clearInterval(timer));
    try {
      await within(10_000, 'the slow request to reach the handler (100 Continue)', slow.firstAnswer);
      await within(10_000, 'the drain to finish while a slow client is connected', d.daemon.stop());
      expect(await slow.closed).toBe(`HTTP/1.1 100 Continue\r\n\r\n${timedOut}`);
      const reopened = openSpool({ path: d.config.spool.path, readonly: true });
      expect(reopened.stats().depth).toBe(0); // the final cycle ran and delivered both events
      reopened.close();
    } finally {
      slow.socket.destroy();
      await d.stop();
    }
  });

  it('refuses connections beyond server.maxConnections and keeps serving', async () => {
    const d = await startTestDaemon({ server: { maxConnections: 3 } });
    const port = Number(new URL(d.url).port);
    const held = await Promise.all(
      Array.from({ length: 3 }, () => new Promise<ReturnType<typeof connect>>((resolve) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => undefined);
      })),
    );
    try {
      const extra = connect(port, '127.0.0.1');
      const extraClosed = await new Promise<boolean>((resolve) => {
        extra.on('close', () => resolve(true));
        extra.on('error', () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      expect(extraClosed).toBe(true);
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect((await d.post(event())).status).toBe(202);
    await d.stop();
  });
});

describe('TLS', () => {
  it('serves HTTPS with server.tls and accepts events over it', async () => {
    const d = await startTestDaemon({ server: { tls: { cert: `${tlsDir}cert.pem`, key: `${tlsDir}key.pem` }, apiKeys: ['tls-key-1'] } });
    try {
      const port = new URL(d.url).port;
      const body = JSON.stringify(event());
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path: '/v1/events', method: 'POST', ca: readFileSync(`${tlsDir}cert.pem`), servername: 'localhost',
            headers: { 'content-type': 'application/json', 'x-api-key': 'tls-key-1', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(answer).toEqual({ status: 202, text: '{"accepted":1,"duplicates":0}' });
      await expect(fetch(`${d.url}/healthz`)).rejects.toThrow(); // plain HTTP is not served on the TLS port
    } finally {
      await d.stop();
    }
  });
});

describe('secrets', () => {
  it('never appear in logs, answers or /metrics', async () => {
    const key = 'sk-live-0123456789-very-secret';
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const d = await startTestDaemon({ server: { apiKeys: [key] }, log: { level: 'trace' } }, undefined, { logger: createLogger('trace', sink) });
    try {
      const answers = [
        await d.post(event(), { headers: { 'x-api-key': key } }),
        await d.post(event(), { headers: { 'x-api-key': `${key}x` } }),
        await d.post(event(), { headers: { authorization: `Bearer ${key}` } }),
        await d.post({ bad: true }, { headers: { 'x-api-key': key } }),
        await d.post(event({ colour: key }), { headers: { 'x-api-key': key } }),
        await d.request('/v1/flush', { method: 'POST', headers: { 'x-api-key': key } }),
        await d.request('/metrics'),
        await d.request('/readyz'),
      ];
      expect(answers.map((a) => a.status)).toEqual([202, 401, 202, 400, 202, 200, 200, 200]);
      for (const a of answers) expect(a.text).not.toContain(key);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toContain(key);
    } finally {
      await d.stop();
    }
  });
});
