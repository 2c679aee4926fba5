/**
 * crisp-bridge, the construct package: `import { CrispBridge } from 'crisp-bridge'` in your CDK
 * app, and `defineHandlers` / `PermanentError` / the event types in your handler module (which
 * the consumer bundles; under its bundling condition this package resolves to the runtime-only
 * `functions/handlers.ts`, so no CDK reaches the bundle).
 */
export { CrispBridge, type CrispBridgeProps, type CrispBridgeHooks } from './crisp-bridge';
export { CrispBridgeStack, type CrispBridgeStackProps } from './crisp-bridge-stack';
export {
  type CrispBridgeConfig,
  type HandlersConfig,
  type RemovalPolicyName,
  CrispBridgeConfigError,
  configFromContext,
  validateConfig,
} from './config';
export { appConfigFromContext, type AppConfig } from './app-config';
export { BridgeApi, type BridgeApiProps } from './constructs/bridge-api';
export { TicketCenterSigner, type TicketCenterSignerProps } from './constructs/ticket-center-signer';
export { HookReceiver, type HookReceiverProps } from './constructs/hook-receiver';
export { HookQueue, type HookQueueProps } from './constructs/hook-queue';
export { DedupeTable, type DedupeTableProps } from './constructs/dedupe-table';
export { EventConsumer, type EventConsumerProps } from './constructs/event-consumer';
export { BridgeMonitoring, type BridgeMonitoringProps } from './constructs/monitoring';
export { CrispSecret, type CrispSecretProps } from './constructs/crisp-secret';
export { CrispApiToken, type CrispApiTokenProps } from './constructs/crisp-api-token';
export { CrispEventBus, type CrispEventBusProps, type CrispEventPattern, type OnCrispEventOptions } from './constructs/crisp-event-bus';
export { type EventBusConfig, DEFAULT_EVENT_ARCHIVE_RETENTION_DAYS } from './event-bus-config';
export { CustomDomain, type CustomDomainProps } from './constructs/custom-domain';
export { TicketCenterStylesheet, type TicketCenterStylesheetProps } from './constructs/ticket-center-stylesheet';
// What a handler module uses, also from the package root.
export * from '../functions/handlers';
