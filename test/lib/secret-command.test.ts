/**
 * The Set...SecretCommand outputs, run for real: bash reads the value from standard input (as from
 * the operator's terminal) and a stand-in `aws` on the PATH records its arguments and what it read
 * on its standard input. The value must arrive on standard input, exactly, and never be an
 * argument of any process (arguments are visible to every user of the machine in `ps`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { putSecretValueCommand } from '../../lib/constructs/crisp-secret';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp-bridge/hook-AbCdEf';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-secret-command-'));
  // A stand-in for the AWS CLI: its arguments, one per line, and its standard input, byte for byte.
  const fake = path.join(dir, 'aws');
  writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\ncat > "${dir}/stdin"\n`);
  chmodSync(fake, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(value: string): { argv: string[]; stdin: Buffer } {
  const command = putSecretValueCommand({ purpose: 'Crisp hook signing secret', variable: 'CRISP_HOOK_SECRET', secretId: ARN, region: 'eu-west-1' });
  const result = execFileSync('bash', ['-c', command], {
    input: `${value}\n`,
    env: { PATH: `${dir}:${process.env.PATH}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  expect(result.toString()).toBe(''); // nothing on standard output (the prompt goes to standard error)
  return { argv: readFileSync(path.join(dir, 'argv'), 'utf8').trimEnd().split('\n'), stdin: readFileSync(path.join(dir, 'stdin')) };
}

describe('putSecretValueCommand', () => {
  it.each([
    ['a hex signing secret', '4f1c0a9e7b2d8c6f3e5a1b0d9c8e7f6a5b4c3d2e1f0a9b8c'],
    ['a value with spaces, quotes, a dollar sign and a backslash', `s3cr3t with 'quotes' "and" $HOME \\n`],
    ['the rotation form', '{"current":"new-secret-value","previous":"old-secret-value"}'],
  ])('%s: reaches the CLI on standard input exactly, and is never an argument', (_name, value) => {
    const { argv, stdin } = run(value);
    expect(stdin.toString('utf8')).toBe(value);
    expect(argv).toEqual(['secretsmanager', 'put-secret-value', '--region', 'eu-west-1', '--secret-id', ARN, '--secret-string', 'file:///dev/stdin']);
    expect(argv.join('\n')).not.toContain(value);
  });

  it('never holds a value itself, and reads it without echo (read -rs)', () => {
    const command = putSecretValueCommand({ purpose: 'Crisp Ticket Center secret', variable: 'CRISP_TICKET_CENTER_SECRET', secretId: ARN, region: 'eu-west-1' });
    expect(command).toContain('read -rs CRISP_TICKET_CENTER_SECRET');
    expect(command).toContain('unset CRISP_TICKET_CENTER_SECRET');
    expect(command).not.toMatch(/--secret-string\s+["']?\$/);
  });
});
