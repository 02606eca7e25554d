import { describe, expect, it } from 'vitest';
import { probeTarget } from './probe.js';

const tls = { cert: '/etc/tls/cert.pem', key: '/etc/tls/key.pem' };

describe('probeTarget', () => {
  it.each([
    ['loopback, liveness', { host: '127.0.0.1', port: 8080, tls: null }, { kind: 'live' }, { protocol: 'http', host: '127.0.0.1', port: 8080, path: '/healthz' }],
    ['every IPv4 address', { host: '0.0.0.0', port: 9000, tls: null }, { kind: 'live' }, { protocol: 'http', host: '127.0.0.1', port: 9000, path: '/healthz' }],
    ['every IPv6 address', { host: '::', port: 9000, tls: null }, { kind: 'live' }, { protocol: 'http', host: '127.0.0.1', port: 9000, path: '/healthz' }],
    ['bracketed IPv6 wildcard', { host: '[::]', port: 9000, tls: null }, { kind: 'live' }, { protocol: 'http', host: '127.0.0.1', port: 9000, path: '/healthz' }],
    ['IPv6 loopback', { host: '[::1]', port: 8080, tls: null }, { kind: 'live' }, { protocol: 'http', host: '::1', port: 8080, path: '/healthz' }],
    ['a pod IP', { host: '10.1.2.3', port: 8080, tls }, { kind: 'live' }, { protocol: 'https', host: '10.1.2.3', port: 8080, path: '/healthz' }],
    ['a host name', { host: 'localhost', port: 8080, tls: null }, { kind: 'live' }, { protocol: 'http', host: 'localhost', port: 8080, path: '/healthz' }],
    ['TLS, readiness', { host: '127.0.0.1', port: 8443, tls }, { kind: 'ready', scope: 'all' }, { protocol: 'https', host: '127.0.0.1', port: 8443, path: '/readyz' }],
    ['ingest readiness', { host: '127.0.0.1', port: 8080, tls: null }, { kind: 'ready', scope: 'ingest' }, { protocol: 'http', host: '127.0.0.1', port: 8080, path: '/readyz?scope=ingest' }],
  ] as const)('%s', (_name, server, what, expected) => {
    expect(probeTarget(server, what)).toEqual(expected);
  });

  it('refuses port 0, which only the daemon itself knows after it started', () => {
    expect(() => probeTarget({ host: '127.0.0.1', port: 0, tls: null }, { kind: 'live' })).toThrow(/server\.port is 0/);
  });
});
