/**
 * Small helpers for the emulators' on-disk state (kept under `.local/` by `npm start`; the
 * caller chooses the paths): an atomic file write, and the "move a bad state aside" rule.
 *
 * - `writeFileAtomic` writes `<file>.tmp`, flushes it to disk, then renames it over `<file>`:
 *   a crash (or a kill) mid-write leaves the previous file whole; at worst a stray `.tmp`
 *   remains, overwritten by the next write.
 * - `moveAside` renames a state file or folder that cannot be read to `<path>.corrupt-<time>`
 *   and warns on stderr: the emulator then starts empty, and nothing is ever deleted.
 */
import { existsSync, renameSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import * as path from 'node:path';

/** One line on stderr, the way the project's scripts report (`crisp-bridge: …`). */
export function warn(message: string): void {
  process.stderr.write(`crisp-bridge: ${message}\n`);
}

/** Writes `data` to `file` so that `file` is always either the old or the new content. */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  // Owner-only, like .local/dev-secrets.json: the queues' state holds hook bodies (customer data).
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/**
 * Renames `target` (a file or a folder) to `<target>.corrupt-<timestamp>` and warns on stderr
 * with `reason`. Returns the new path. Throws if the rename fails (the caller must not then
 * start over the bad state as if it were empty).
 */
export function moveAside(target: string, reason: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let aside = `${target}.corrupt-${stamp}`;
  for (let n = 2; existsSync(aside); n++) aside = `${target}.corrupt-${stamp}-${n}`;
  renameSync(target, aside);
  warn(`${target}: ${reason}; moved aside to ${aside}, starting empty`);
  return aside;
}
