import { describe, expect, it } from 'vitest';
import { isLoopbackPeer } from './peer.js';

describe('isLoopbackPeer', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.6', true], // Istio's inbound passthrough source: loopback, hence server.loopbackDetails
    ['127.255.255.254', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.1.2.3', true],
    ['10.0.0.7', false],
    ['128.0.0.1', false],
    ['1.127.0.0', false],
    ['::ffff:10.0.0.7', false],
    ['::ffff:7f00:1', false], // hex-written mapped form: Node never reports it, refused rather than guessed
    ['::', false],
    ['::2', false],
    ['fe80::1', false],
    ['2001:db8::1', false],
    ['localhost', false], // a name, not an address: sockets report addresses
    ['', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopbackPeer(address)).toBe(expected);
  });
});
