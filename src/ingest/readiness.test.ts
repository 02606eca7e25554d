/**
 * The /readyz body (readinessBody in server.ts): codes for anyone, details only when trusted,
 * and the ingest scope leaving destinations out.
 */
import { describe, expect, it } from 'vitest';
import { readinessBody, type ReadinessReason } from './server.js';

const full: ReadinessReason = { code: 'spool_full', detail: 'spool holds 10 events, spool.maxEvents is 10' };
const denied: ReadinessReason = { code: 'destination_unverified', failure: 'access_denied', detail: 'destination s3://b/a/ has not passed verify: … arn:aws:iam::1:role/r …' };
const down: ReadinessReason = { code: 'destination_unverified', failure: 'unreachable', detail: 'destination s3://b/c/ has not passed verify: …' };
const pending: ReadinessReason = { code: 'destination_unverified', failure: 'pending', detail: 'destination s3://b/d/ has not passed verify' };
const draining: ReadinessReason = { code: 'draining', detail: 'shutting down' };

describe('readinessBody', () => {
  it.each([
    ['nothing wrong', [], 'all', false, { ready: true, reasons: [] }],
    ['nothing wrong, trusted', [], 'all', true, { ready: true, reasons: [], details: [] }],
    ['spool full', [full], 'all', false, { ready: false, reasons: ['spool_full'] }],
    [
      'two destinations and a full spool: codes once each, failures once each',
      [full, denied, down, { ...denied, detail: 'destination s3://b/e/ …' }],
      'all',
      false,
      { ready: false, reasons: ['spool_full', 'destination_unverified'], verifyFailures: ['access_denied', 'unreachable'] },
    ],
    ['first verify still running', [pending], 'all', false, { ready: false, reasons: ['destination_unverified'], verifyFailures: ['pending'] }],
    ['trusted: the messages too', [denied], 'all', true, { ready: false, reasons: ['destination_unverified'], verifyFailures: ['access_denied'], details: [denied.detail] }],
    ['ingest scope ignores destinations', [denied, down], 'ingest', true, { ready: true, reasons: [], details: [] }],
    ['ingest scope keeps spool and drain reasons', [draining, denied, full], 'ingest', false, { ready: false, reasons: ['draining', 'spool_full'] }],
  ] as const)('%s', (_name, reasons, scope, trusted, expected) => {
    expect(readinessBody(reasons, { scope, trusted })).toEqual(expected);
  });
});
