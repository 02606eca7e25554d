/**
 * The ingest baseline (a child process of the bench): a bare node:http server that reads each
 * body (an array of events or one event), JSON.parses it and answers 202 with the count — no validation, no storage. Prints its
 * URL on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    const text = JSON.stringify({ accepted: Array.isArray(parsed) ? parsed.length : 1, duplicates: 0 });
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
