/**
 * The local stack serves the Ticket Center stylesheet (`TICKET_CENTER_STYLESHEET` for npm start)
 * at the path CloudFront serves it, read again on every request, and only to itself (a foreign
 * Host is refused like on every other route).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';

const dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-stylesheet-'));
const css = path.join(dir, 'ticket-center.css');
let stack: LocalStack;

beforeAll(async () => {
  copyFileSync(path.join(__dirname, '..', 'fixtures', 'ticket-center.css'), css);
  stack = await startLocalStack({ port: 0, stateDir: dir, stylesheet: css });
});

afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(url: string, host?: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /ticket-center.css serves the file as text/css, and an edit shows on the next request', async () => {
  const first = await get(`${stack.url}/ticket-center.css`);
  expect(first).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
  writeFileSync(css, '.crisp-client { color: #123456; }\n');
  expect((await get(`${stack.url}/ticket-center.css`)).body).toBe('.crisp-client { color: #123456; }\n');
});

test('a foreign Host is refused', async () => {
  expect((await get(`${stack.url}/ticket-center.css`, 'attacker.example')).status).toBe(403);
});
