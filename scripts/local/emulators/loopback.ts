/**
 * Where every socket of the local stack listens: the loopback interface, never all interfaces.
 * The emulators have no authentication (fauxqs, dynalite, the Secrets Manager emulator accept
 * any credentials) and the API mints tokens for the demo, so a socket on 0.0.0.0 would hand
 * the queues, the dedupe table and the secrets to anyone on the same network (a café's Wi-Fi).
 * Every server of the local stack is started through `listenOnLoopback`, so that there is one
 * place that decides, and a test (test/e2e/local-lockdown.test.ts) that checks it.
 */
import type { AddressInfo, Server } from 'node:net';

/** The default address: IPv4 loopback, what `http://127.0.0.1:<port>` endpoints point at. */
export const LOOPBACK = '127.0.0.1';

/**
 * The addresses a local server may bind. Names (`localhost`) are left out on purpose: Node
 * resolves them to one address family at listen time, and a client resolving them to the
 * other one would be refused; an IP says exactly which interface listens.
 */
export const LOOPBACK_ADDRESSES: readonly string[] = [LOOPBACK, '::1'];

export interface Listening {
  port: number;
  /** `http://127.0.0.1:<port>` (or `http://[::1]:<port>`): the endpoint clients use. */
  url: string;
}

/** Throws unless `host` is a loopback address (see LOOPBACK_ADDRESSES). */
export function assertLoopback(host: string): void {
  if (!LOOPBACK_ADDRESSES.includes(host)) {
    throw new Error(`the local stack listens on loopback only (${LOOPBACK_ADDRESSES.join(' or ')}); refusing to listen on "${host}"`);
  }
}

/** `http://<host>:<port>`, with an IPv6 address in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Starts `server` (any `net.Server`, `http.Server` included) listening on a loopback address,
 * 127.0.0.1 unless told otherwise; rejects if the address is not loopback or the port is taken.
 */
export async function listenOnLoopback(server: Server, options: { port?: number; host?: string } = {}): Promise<Listening> {
  const host = options.host ?? LOOPBACK;
  assertLoopback(host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { port, url: httpUrl(host, port) };
}
