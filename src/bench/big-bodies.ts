/**
 * Big-body sender (a child process of the loop-stall bench): POSTs NDJSON bodies of about
 * `--bytes` bytes to 127.0.0.1, `--concurrency` at a time, a new round every `--every-ms`
 * (or as soon as the previous round is answered, whichever is later), until `--rounds` rounds or
 * SIGTERM. `--invalid-last` makes each body's last record invalid (a 400: parsed and validated,
 * nothing stored). `--json` sends each body as one JSON array (application/json) instead. Prints
 * one JSON line with the answers.
 *
 *   node dist/bench/big-bodies.js --url http://127.0.0.1:8080/v1/events --bytes 5000000 --every-ms 1000
 */
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { benchEvents } from './fixtures.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    bytes: { type: 'string', default: '5000000' },
    concurrency: { type: 'string', default: '1' },
    'every-ms': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '1000' },
    'invalid-last': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: 'big' },
  },
});
const url = new URL(values.url!);
const bytes = Number(values.bytes);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
let stopping = false;
process.on('SIGTERM', () => (stopping = true)); // finish the round in flight, then report

/** One NDJSON body of just under `bytes` bytes, events numbered from `offset`; returns it and its event count. */
function body(offset: number): { body: Buffer; events: number } {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; ; i++) {
    const [event] = benchEvents(1, offset + i, `${values.seed}-${offset}`);
    const line = `${JSON.stringify(event)}\n`;
    if (size + line.length > bytes) break;
    lines.push(line);
    size += line.length;
  }
  if (values['invalid-last']) lines[lines.length - 1] = `${JSON.stringify({ ...benchEvents(1, 0)[0], EVENT_TIME: 'not a time' })}\n`;
  // As a JSON array: the same records, a comma where NDJSON has a newline (the same size within a few bytes).
  const text = values.json ? `[${lines.map((l) => l.slice(0, -1)).join(',')}]` : lines.join('');
  return { body: Buffer.from(text), events: lines.length };
}

// Two sets of bodies, alternated, built before the clock starts (ids differ per round, so a
// later round is not all duplicates: rounds r and r+2 repeat, as a sender's retry would).
const sets = [0, 1].map((s) => Array.from({ length: concurrency }, (_, c) => body((s * concurrency + c) * 1_000_000)));
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const statuses: Record<string, number> = {};

function post(b: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': values.json ? 'application/json' : 'application/x-ndjson', 'content-length': b.length } },
      (res) => {
        res.resume();
        res.on('end', () => {
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          resolve();
        });
      },
    );
    req.on('error', () => {
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end(b);
  });
}

process.stderr.write('load: ready\n');
const started = performance.now();
let done = 0;
for (let r = 0; r < rounds && !stopping; r++) {
  const roundStart = performance.now();
  await Promise.all(sets[r % 2]!.map((b) => post(b.body)));
  done++;
  const wait = Number(values['every-ms']) - (performance.now() - roundStart);
  if (wait > 0 && !stopping) await new Promise((resolve) => setTimeout(resolve, wait));
}
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ rounds: done, requests: done * concurrency, bodyBytes: sets[0]![0]!.body.length, eventsPerBody: sets[0]![0]!.events, seconds: (performance.now() - started) / 1000, statuses })}\n`,
);
