/**
 * The TCP sockets this process is listening on, read from Linux's /proc (no tool needed):
 * the socket inodes among /proc/self/fd, matched with the LISTEN entries of /proc/net/tcp and
 * /proc/net/tcp6 (which list the whole network namespace, so they are filtered by inode).
 * And the same as `ss -ltnp` sees it, when `ss` is installed, to cross-check.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** `127.0.0.1`, `::1`, `0.0.0.0`, `::`, `::ffff:127.0.0.1`... */
  address: string;
  port: number;
}

/** `st` column of /proc/net/tcp*: TCP_LISTEN. */
const TCP_LISTEN = '0A';

/**
 * The addresses the local stack may listen on, stated here independently of the code under
 * test (scripts/local/emulators/loopback.ts) as what the tests expect.
 */
export const LOOPBACK_ADDRESSES: readonly string[] = ['127.0.0.1', '::1'];

/** This process's listening TCP sockets (IPv4 and IPv6), from /proc. */
export function listeningSocketsFromProc(): ListeningSocket[] {
  const inodes = ownSocketInodes();
  const sockets: ListeningSocket[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    // Lines: "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ..."
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN || !inodes.has(fields[9]!)) continue;
      const [addressHex, portHex] = fields[1]!.split(':') as [string, string];
      sockets.push({ address: decodeProcAddress(addressHex), port: parseInt(portHex, 16) });
    }
  }
  return sockets;
}

/** The inodes of this process's sockets: /proc/self/fd/N links to `socket:[inode]`. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the fd listing itself, for one)
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  return inodes;
}

/**
 * An address as /proc/net/tcp* writes it: hex of 32-bit words, each in host byte order
 * (little-endian here): `0100007F` is 127.0.0.1, `00000000000000000000000001000000` is ::1.
 */
export function decodeProcAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((byte) => parseInt(byte, 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The URL standard writes IPv6 addresses in their canonical form (RFC 5952: `::1`, `::`).
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/**
 * This process's listening TCP sockets as `ss -ltnp` reports them, or undefined when `ss` is
 * not installed (nothing is installed for it).
 */
export function listeningSocketsFromSs(pid = process.pid): ListeningSocket[] | undefined {
  let output: string;
  try {
    output = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  // "LISTEN 0 511 127.0.0.1:3000 0.0.0.0:* users:(("node",pid=123,fd=33))"
  return output
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => {
      const local = line.trim().split(/\s+/)[3]!;
      const colon = local.lastIndexOf(':');
      const address = local.slice(0, colon).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
      return { address: address === '*' ? '0.0.0.0' : address, port: Number(local.slice(colon + 1)) };
    });
}
