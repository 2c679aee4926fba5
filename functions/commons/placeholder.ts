/**
 * The value a secret created by the stack starts with. It is not a secret: it marks a secret
 * the operator has not set yet, and the functions refuse to use it (503 `secret_unavailable`,
 * with a log line naming the secret to set). Shared by the constructs that create the secrets
 * and the functions that read them.
 *
 * The placeholder is one fixed text, the same for every secret and every version of crisp-bridge,
 * and it must stay so: CloudFormation writes a secret's value again only when the value in the
 * template changes, so a placeholder that never changes means no deploy ever overwrites the value
 * an operator has set (test/lib/secret-value.test.ts pins it). What the secret is for goes in its
 * description, which may change freely.
 */
export const SECRET_PLACEHOLDER_PREFIX = 'CRISP_BRIDGE_PLACEHOLDER';

/** Frozen: changing this text would overwrite every operator's secret on their next deploy. */
export const SECRET_PLACEHOLDER = `${SECRET_PLACEHOLDER_PREFIX}: not set yet. Set the real value (see the stack outputs for the command).`;

export function isPlaceholder(value: string): boolean {
  return value.startsWith(SECRET_PLACEHOLDER_PREFIX);
}
