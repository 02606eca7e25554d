/**
 * Test support: HTTP/1.1 over a raw TCP connection, for tests that need control over what is on
 * the wire and when (half-sent requests, pipelining, slow clients), and that read back exactly
 * what the server wrote.
 */
import { connect, type Socket } from 'node:net';

/** A raw TCP connection to a server on 127.0.0.1, recording every byte the server writes. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything the server has written so far. */
  wire(): string;
  /** Resolves on the first bytes the server writes. */
  readonly firstAnswer: Promise<void>;
  /** Resolves with everything the server wrote, once the connection is closed. */
  readonly closed: Promise<string>;
}

/** One response as parsed from the wire. */
export interface RawResponse {
  readonly status: number;
  /** Header names lowercased. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Opens a raw connection to `port` on 127.0.0.1. */
export function rawConnection(port: number): RawConnection {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let wire = '';
  socket.on('data', (c: string) => (wire += c));
  socket.on('error', () => undefined); // a reset shows up as the close below
  return {
    socket,
    wire: () => wire,
    firstAnswer: new Promise<void>((resolve) => socket.once('data', () => resolve())),
    closed: new Promise<string>((resolve) => socket.on('close', () => resolve(wire))),
  };
}

/** The head of a POST /v1/events with a JSON body of `contentLength` bytes; `extra` holds more header lines, each ending in CRLF. */
export function postHead(contentLength: number, extra = ''): string {
  return `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n`;
}

/** Splits what a server wrote on one connection into its responses (1xx included); bodies need Content-Length. */
export function parseResponses(wire: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = wire;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`parse responses: no end of head in ${JSON.stringify(rest)}`);
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
    if (!status) throw new Error(`parse responses: bad status line ${JSON.stringify(statusLine)}`);
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    responses.push({ status: Number(status), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return responses;
}
