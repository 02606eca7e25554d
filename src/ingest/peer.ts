/**
 * Who is calling: whether a connection's peer address belongs to this machine. Used to decide
 * which unauthenticated callers may read error details (DESIGN invariant 5).
 */
import { isIP } from 'node:net';

/** Prefix of an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`), as a dual-stack socket reports IPv4 peers. */
const ipv4Mapped = /^::ffff:/i;

/**
 * True when `address` (a socket's `remoteAddress`) is a loopback address: 127.0.0.0/8, ::1, or
 * either written as an IPv4-mapped IPv6 address. Anything else, including undefined (a closed
 * socket) and host names, is false.
 */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  const unmapped = address.replace(ipv4Mapped, '');
  if (isIP(unmapped) === 4) return unmapped.split('.')[0] === '127';
  // ::1 in any spelling: only zero groups, then a final 1.
  return isIP(address) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(address);
}
