/**
 * Load generator (a child process of the bench): POSTs `requests` JSON arrays of
 * `--events` events each, over `--concurrency` keep-alive connections to 127.0.0.1, and prints
 * one JSON line. Bodies are built before the clock starts, from `--seed` and `--start-ms`, so two
 * servers measured with the same seed and start receive byte-identical requests.
 *   --events 1 --single   each body is one JSON object, not an array (EventBridge API destinations,
 *                         Strivacity: one event per request)
 *   --start-ms MS         event times follow arrivals from MS on (fixtures.ts BenchClock; default
 *                         the fixtures' fixed date)
 *   --scatter-days N      event times spread over N days in no order instead
 */
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { benchClock, benchEvents, type BenchClock } from './fixtures.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    requests: { type: 'string', default: '1000' },
    events: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: 'bench' },
    seconds: { type: 'string' },
    single: { type: 'boolean', default: false },
    'start-ms': { type: 'string' },
    'scatter-days': { type: 'string' },
  },
});
const url = new URL(values.url!);
const total = Number(values.requests);
const perRequest = Number(values.events);
const concurrency = Number(values.concurrency);

let deadline = values.seconds ? Number.POSITIVE_INFINITY : Number.POSITIVE_INFINITY;
process.on('SIGTERM', () => (deadline = 0)); // finish the requests in flight, then report

const clock: BenchClock = {
  startMs: values['start-ms'] === undefined ? benchClock.startMs : Number(values['start-ms']),
  eventsPerSecond: benchClock.eventsPerSecond,
  ...(values['scatter-days'] === undefined ? {} : { scatterDays: Number(values['scatter-days']) }),
};
if (values.single && perRequest !== 1) throw new Error('load: --single needs --events 1');
const bodies = Array.from({ length: total }, (_, r) => {
  const events = benchEvents(perRequest, r * perRequest, values.seed, clock);
  return Buffer.from(JSON.stringify(values.single ? events[0] : events));
});
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const statuses: Record<string, number> = {};

function post(body: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
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
    req.end(body);
  });
}

let next = 0;
if (values.seconds && deadline !== 0) deadline = performance.now() + Number(values.seconds) * 1000;
process.stderr.write('load: ready\n'); // bodies are built; the clock starts now
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total && performance.now() < deadline) await post(bodies[next++]!);
  }),
);
const seconds = (performance.now() - started) / 1000;
agent.destroy();
process.stdout.write(`${JSON.stringify({ requests: next, events: next * perRequest, seconds, eventsPerSecond: (next * perRequest) / seconds, statuses })}\n`);
