/**
 * Not a client: what the "ours without the clients it rarely needs" bundle gets in place of the
 * SQS, EventBridge and Secrets Manager SDK clients (bench/build.ts), to measure what loading them
 * costs the consumer's cold start. That bundle must never need one: the cold-start event sends no
 * dead letter, puts nothing on a bus and reads no secret, and any use fails loudly.
 */
class Absent {
  constructor(..._args: unknown[]) {}
  send(): never {
    throw new Error('bench/reference/absent-client.ts: this bundle has no such client');
  }
}
export { Absent as SQSClient, Absent as SendMessageCommand, Absent as EventBridgeClient, Absent as PutEventsCommand };
export { Absent as SecretsManagerClient, Absent as GetSecretValueCommand };
