/**
 * The value a secret created by the stack starts with. It is not a secret: it marks a secret
 * the operator has not set yet, and the functions refuse to use it (503 `secret_unavailable`,
 * with a log line naming the secret to set). Shared by the constructs that create the secrets
 * and the functions that read them.
 */
export const SECRET_PLACEHOLDER_PREFIX = 'CRISP_BRIDGE_PLACEHOLDER';

export function placeholderValue(what: string): string {
  return `${SECRET_PLACEHOLDER_PREFIX}: not set yet. Put the ${what} here (see the stack outputs for the command).`;
}

export function isPlaceholder(value: string): boolean {
  return value.startsWith(SECRET_PLACEHOLDER_PREFIX);
}
