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
import { event, startTestDaemon } from './support/daemon.js';

const tlsDir = new URL('./fixtures/tls/', import.meta.url).pathname;

describe('spool disk full', () => {
  it('answers 503, stores nothing of the failed requests, stays consistent and recovers', async () => {
    const d = await startTestDaemon();
    try {
      expect((await d.post([event(), event()])).status).toBe(202);
      const db = d.daemon.spool.db;
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages}`); // the file may not grow: SQLITE_FULL, as on a full disk
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
  it('do not block other clients, and are cut off after requestTimeoutMs', async () => {
    const d = await startTestDaemon({ server: { requestTimeoutMs: 1000 } });
    const port = Number(new URL(d.url).port);
    const slow = Array.from({ length: 20 }, () => {
      const socket = connect(port, '127.0.0.1');
      socket.write('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[');
      const timer = setInterval(() => socket.writable && socket.write(' '), 100);
      const closed = new Promise<string>((resolve) => {
        let answer = '';
        socket.on('data', (c) => (answer += c.toString()));
        socket.on('close', () => {
          clearInterval(timer);
          resolve(answer);
        });
        socket.on('error', () => undefined);
      });
      return { socket, closed };
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
      const answers = await slowClosed; // bounded by requestTimeoutMs (the server's own timer)
      for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 408|^$/);
      expect(d.snapshot().depth).toBe(20);
    } finally {
      for (const s of slow) s.socket.destroy();
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
