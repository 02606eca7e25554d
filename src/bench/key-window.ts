/**
 * Fills a spool's idempotency window (a child process of the bench): `--keys` remembered keys of
 * events already delivered and pruned, as a spool holds them after a busy week, generated in bulk
 * inside SQLite (a recursive CTE), not through HTTP. The spool is left with no events.
 *
 *   node dist/bench/key-window.js --fill PATH --keys 5000000 [--end-ms MS] [--days 7]
 *
 * Keys follow migrations/000003.sql: seq 1..N (the delivered events' seqs; the events table's
 * sequence is moved past them so new events get higher seqs), event_ms spread evenly over the
 * `--days` before `--end-ms` in seq order (events arrive in time order), a random 48-bit id_hash
 * and 16 random content bytes. spool_stats.keys counts them and a delivery mark at seq N records
 * that every export has delivered them now, so they stay remembered for the whole window.
 */
import { parseArgs } from 'node:util';
import { openSpool } from '../spool/spool.js';

const { values } = parseArgs({
  options: { fill: { type: 'string' }, keys: { type: 'string', default: '5000000' }, 'end-ms': { type: 'string' }, days: { type: 'string', default: '7' } },
});
if (!values.fill) throw new Error('key-window: --fill PATH is required');
const keys = Number(values.keys);
const endMs = values['end-ms'] === undefined ? Date.now() : Number(values['end-ms']);
const spanMs = Math.round(Number(values.days) * 86_400_000);

const started = performance.now();
const spool = openSpool({ path: values.fill, synchronous: 'NORMAL' });
if (spool.counters().depth !== 0 || spool.counters().keys !== 0) throw new Error(`key-window: ${values.fill} is not an empty spool`);
const chunk = 500_000;
const insert = spool.db.prepare(
  `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
   INSERT INTO event_keys (seq, event_ms, id_hash, content)
   SELECT i, ? + (i * ?) / ?, random() & 281474976710655, randomblob(16) FROM n`,
);
// BigInt parameters: better-sqlite3 binds JS numbers as REAL, and the CTE's arithmetic must stay integer.
for (let from = 1; from <= keys; from += chunk) {
  const to = Math.min(keys, from + chunk - 1);
  spool.db.transaction(() => insert.run(BigInt(from), BigInt(to), BigInt(endMs - spanMs), BigInt(spanMs), BigInt(keys)))();
}
spool.db.transaction(() => {
  spool.db.prepare('UPDATE spool_stats SET keys = keys + ? WHERE id = 1').run(BigInt(keys));
  spool.db.prepare("DELETE FROM sqlite_sequence WHERE name = 'events'").run();
  spool.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(BigInt(keys));
})();
spool.noteDelivered(keys);
spool.db.pragma('wal_checkpoint(TRUNCATE)');
const counters = spool.counters();
spool.close();
process.stdout.write(`${JSON.stringify({ keys: counters.keys, seconds: (performance.now() - started) / 1000 })}\n`);
