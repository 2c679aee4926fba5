import { Aws, type RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { checkCrispApiUrl, DEFAULT_CRISP_API_URL } from '../../functions/commons/core/crisp-api';
import type { BridgeFunction } from './bridge-function';
import { CrispSecret } from './crisp-secret';

/** The consumer's environment variables for the Crisp API (read by functions/consumer/crisp-api.ts). */
export const CRISP_API_TOKEN_SECRET_ENV = 'CRISP_API_TOKEN_SECRET_ID';
export const CRISP_API_URL_ENV = 'CRISP_API_URL';

export interface CrispApiTokenProps {
  /** The consumer: it may read the token's secret (GetSecretValue on it only) and is told where it is. */
  readonly consumer: BridgeFunction;
  /**
   * Crisp's REST API base URL: https, or http on a loopback host (a local stand-in).
   * @default 'https://api.crisp.chat/v1'
   */
  readonly url?: string;
  /**
   * What happens to the secret when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Replies through Crisp's REST API (`context.crisp` in your handlers): the secret holding the
 * Crisp Marketplace plugin token `{"identifier": "...", "key": "..."}`, created with the frozen
 * placeholder (the consumer refuses it and retries the event until you set the real token), the
 * consumer's read grant on that secret alone, and `CRISP_API_TOKEN_SECRET_ID` / `CRISP_API_URL`
 * in its environment. `setValueCommand` is the CLI line that sets the token from the terminal,
 * the values read without echo and passed to the AWS CLI on standard input.
 */
export class CrispApiToken extends Construct {
  readonly secret: CrispSecret;
  /** The API base URL the consumer calls. */
  readonly url: string;
  /** Asks for the token's identifier and key and stores `{"identifier","key"}`: ready to paste. */
  readonly setValueCommand: string;

  constructor(scope: Construct, id: string, props: CrispApiTokenProps) {
    super(scope, id);
    this.url = checkCrispApiUrl(props.url ?? DEFAULT_CRISP_API_URL);
    this.secret = new CrispSecret(this, 'Token', {
      purpose: 'Crisp API plugin token ({"identifier","key"})',
      valueVariable: 'CRISP_API_TOKEN',
      removalPolicy: props.removalPolicy,
    });
    props.consumer.readSecret(this.secret, CRISP_API_TOKEN_SECRET_ENV).addEnvironment(CRISP_API_URL_ENV, this.url);
    this.setValueCommand = putCrispApiTokenCommand(this.secret.secret.secretArn);
  }
}

/**
 * The shell line that asks for the plugin token's identifier and key (the key without echo),
 * builds `{"identifier":"...","key":"..."}` with the shell's built-in `printf` and hands it to
 * `aws secretsmanager put-secret-value` on standard input: neither value is ever a process's
 * argument, in the shell history or on the screen. Both are checked first (Crisp's identifiers are
 * UUIDs and keys hex), so nothing can break out of the JSON.
 */
export function putCrispApiTokenCommand(secretId: string, region: string = Aws.REGION): string {
  return (
    `printf '%s: ' 'Crisp plugin token identifier' >&2 && read -r CRISP_API_IDENTIFIER && ` +
    `printf '%s: ' 'Crisp plugin token key' >&2 && read -rs CRISP_API_KEY && echo >&2 && ` +
    `case "$CRISP_API_IDENTIFIER" in ''|*[!A-Za-z0-9_-]*) echo 'the identifier must be letters, digits, - or _' >&2; false;; esac && ` +
    `case "$CRISP_API_KEY" in ''|*[!A-Za-z0-9_-]*) echo 'the key must be letters, digits, - or _' >&2; false;; esac && ` +
    `printf '{"identifier":"%s","key":"%s"}' "$CRISP_API_IDENTIFIER" "$CRISP_API_KEY" | ` +
    `aws secretsmanager put-secret-value --region ${region} --secret-id ${secretId} --secret-string file:///dev/stdin; ` +
    'unset CRISP_API_IDENTIFIER CRISP_API_KEY'
  );
}
