/**
 * What a handler module imports (`crisp-bridge/handlers`, also re-exported by the package root
 * under the bundling condition the consumer is built with): `defineHandlers`, `PermanentError`
 * and the event and handler types. No AWS SDK and no CDK here: it is bundled into the consumer.
 */
export { defineHandlers } from './consumer/registry';
export type { EventHandler, HandlerContext, HandlerOptions, HandlerSecrets, HandlerSet } from './consumer/registry';
export { PermanentError, SecretUnavailableError } from './consumer/errors';
export * from './consumer/events';
export type { HookKind } from './commons/core/hook-envelope';
export type { Logger, LogFields, Metrics, MetricDimensions } from './commons/logger';
export { CrispApiError, isCrispApiError } from './commons/core/crisp-api';
export type {
  ConversationMetas,
  ConversationState,
  CrispApi,
  CrispConversation,
  CrispMessage,
  HttpMethod,
  ReplyUser,
  SendMessageInput,
  SentMessage,
} from './commons/core/crisp-api';
export { AUTO_RESPONDER_SETTINGS, autoResponder, isWithinBusinessHours, parseBusinessHours } from './consumer/handlers/auto-responder';
export type { AutoResponderSetting, BusinessHours } from './consumer/handlers/auto-responder';
