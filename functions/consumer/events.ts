/**
 * Types of the Crisp events the consumer hands to your handlers: the envelope (`CrispEvent`) and
 * its `data` for every namespace Crisp's official Node library knows (`CrispEventDataMap`).
 *
 * Source: the `EventsMap` interface of crisp-api 11.3.0 (`lib/events/Events.ts`, 82 namespaces,
 * the same payloads over Web Hooks and the RTM API), and the message content and visitor device
 * types it references (`lib/resources/WebsiteConversation.ts`).
 *
 * Written here rather than imported (`import type ... from 'crisp-api'`), for two reasons:
 * - this file ships in the crisp-bridge package, and its users do not have crisp-api installed;
 * - crisp-api's types are stricter than real payloads: it requires `inbox_id` on every session
 *   event and `user` on every message, yet Crisp's own Web Hooks quick-start `message:send` has
 *   no `inbox_id`.
 *
 * So the types follow crisp-api's field names and value types, but generously:
 * - required: `website_id`, and the identifier of what the event is about that every event of
 *   its family carries (`session_id` for session and message events, `fingerprint` for a
 *   message, `people_id` for a profile, `campaign_id`, `spam_id`, `call_id`, `plugin_id`);
 *   every other field is optional (`?`), as Crisp may leave it out;
 * - every object type has an index signature (`[extra: string]: unknown`), so a field Crisp adds
 *   later reaches your handler (as `unknown`) instead of breaking your build;
 * - string values with a known set (`state`, `availability`, `health`...) also accept any other
 *   string.
 *
 * A namespace not listed here still reaches a handler (a prefix such as `session:*`, or `*`),
 * with `data: unknown`. `CRISP_NAMESPACES` lists the typed namespaces at run time; a type-level
 * check below fails `tsc` if it and `CrispEventDataMap` ever disagree. See docs/events.md.
 */

// ---------------------------------------------------------------------------------------------
// Shared shapes.

/** Who sent a message (or is composing one): a visitor or an operator. */
export interface CrispUser {
  /** `participant`, `website`... */
  type?: string;
  user_id?: string;
  nickname?: string;
  avatar?: string;
  [extra: string]: unknown;
}

/** The operator who opened or closed a conversation. */
export interface CrispOperator {
  user_id?: string;
  nickname?: string;
  avatar?: string | null;
  [extra: string]: unknown;
}

/** Where a visitor (or a company) is. */
export interface CrispGeolocation {
  country?: string;
  region?: string;
  city?: string;
  coordinates?: { latitude?: number; longitude?: number; [extra: string]: unknown };
  [extra: string]: unknown;
}

/** A visitor's operating system, browser engine and browser. */
export interface CrispSystem {
  os?: { name?: string; version?: string; [extra: string]: unknown };
  engine?: { name?: string; version?: string; [extra: string]: unknown };
  browser?: { name?: string; version?: string; major?: string; [extra: string]: unknown };
  useragent?: string;
  [extra: string]: unknown;
}

/** A visitor's network provider. */
export interface CrispConnection {
  isp?: string;
  asn?: string;
  [extra: string]: unknown;
}

/** Online or offline (visitor or operator availability). */
export type CrispAvailability = 'online' | 'offline' | (string & {});

// ---------------------------------------------------------------------------------------------
// Base types, one per family of events.

/** Every event's `data` names the website it happened on. */
export interface WebsiteEventBase {
  website_id: string;
  [extra: string]: unknown;
}

/** An event about a conversation (session and message events, calls, browsing...). */
export interface SessionEventBase extends WebsiteEventBase {
  session_id: string;
  /** The conversation's inbox, `null` for the default one (crisp-api requires it; Crisp may omit it). */
  inbox_id?: string | null;
}

/** An event about one message of a conversation. */
export interface MessageEventBase extends SessionEventBase {
  /** The message's identifier within the conversation. */
  fingerprint: number;
}

/** An event about a contact profile (people). */
export interface PeopleEventBase extends WebsiteEventBase {
  people_id: string;
}

/** An event about a campaign. */
export interface CampaignEventBase extends WebsiteEventBase {
  campaign_id: string;
}

/** An event about a message flagged as spam. */
export interface SpamEventBase extends WebsiteEventBase {
  spam_id: string;
}

/** An event about a call request in a conversation. */
export interface CallEventBase extends SessionEventBase {
  call_id: string;
}

/** An event addressed to a plugin. */
export interface PluginEventBase extends WebsiteEventBase {
  plugin_id: string;
}

// ---------------------------------------------------------------------------------------------
// Session events (`session:*`).

export interface SessionUpdateAvailabilityData extends SessionEventBase {
  availability?: CrispAvailability;
}

export interface SessionVerification {
  identity?: string;
  method?: string;
  annotation?: string;
  [extra: string]: unknown;
}

export interface SessionUpdateVerifyData extends SessionEventBase {
  is_verified?: boolean;
  verifications?: SessionVerification[];
  routing_ids?: string[];
  error?: 'unknown' | (string & {});
}

export interface SessionSetEmailData extends SessionEventBase {
  email?: string;
}

export interface SessionSetPhoneData extends SessionEventBase {
  phone?: string;
}

export interface SessionSetAddressData extends SessionEventBase {
  address?: string;
}

export interface SessionSetSubjectData extends SessionEventBase {
  subject?: string;
}

export interface SessionSetAvatarData extends SessionEventBase {
  avatar?: string;
}

export interface SessionSetNicknameData extends SessionEventBase {
  nickname?: string;
}

export interface SessionSetOriginData extends SessionEventBase {
  origin?: string;
}

export interface SessionSetDataData extends SessionEventBase {
  /** The conversation's custom data (crisp-api types values as string, number or boolean). */
  data?: Record<string, unknown>;
}

export interface SessionSetSegmentsData extends SessionEventBase {
  segments?: string[];
}

export interface SessionSetBlockData extends SessionEventBase {
  is_blocked?: boolean;
}

/** `session:set_opened` and `session:set_closed`. */
export interface SessionOpenedClosedData extends SessionEventBase {
  operator?: CrispOperator;
}

export interface SessionParticipant {
  type?: string;
  target?: string;
  [extra: string]: unknown;
}

export interface SessionSetParticipantsData extends SessionEventBase {
  participants?: SessionParticipant[];
}

export interface SessionSetMentionsData extends SessionEventBase {
  mentions?: string[];
}

export interface SessionSetRoutingData extends SessionEventBase {
  routing_id?: string | null;
  previous_routing_id?: string | null;
}

export interface SessionSetInboxData extends SessionEventBase {
  previous_inbox_id?: string | null;
}

export type ConversationState = 'pending' | 'unresolved' | 'resolved' | (string & {});

export interface SessionSetStateData extends SessionEventBase {
  state?: ConversationState;
}

export interface SessionSyncCapabilitiesData extends SessionEventBase {
  capabilities?: string[];
}

export interface SessionSyncGeolocationData extends SessionEventBase {
  geolocation?: CrispGeolocation;
}

export interface SessionSyncSystemData extends SessionEventBase {
  system?: CrispSystem;
}

export interface SessionSyncNetworkData extends SessionEventBase {
  network?: { ip?: string; connection?: CrispConnection; [extra: string]: unknown };
}

export interface SessionSyncTimezoneData extends SessionEventBase {
  timezone?: { offset?: number; [extra: string]: unknown };
}

export interface SessionSyncLocalesData extends SessionEventBase {
  locales?: { locales?: string[]; [extra: string]: unknown };
}

export interface SessionPage {
  page_url?: string;
  page_title?: string;
  timestamp?: number;
  [extra: string]: unknown;
}

export interface SessionSyncPagesData extends SessionEventBase {
  pages?: SessionPage[];
}

export interface SessionEvent {
  text?: string;
  data?: Record<string, unknown>;
  color?: string;
  timestamp?: number;
  [extra: string]: unknown;
}

export interface SessionSyncEventsData extends SessionEventBase {
  events?: SessionEvent[];
}

export interface SessionSyncRatingData extends SessionEventBase {
  rating?: { stars?: number; comment?: string; [extra: string]: unknown };
}

export interface SessionSyncTopicData extends SessionEventBase {
  topic?: string;
}

export interface SessionErrorData extends SessionEventBase {
  type?: string;
  value?: string;
  previous_value?: string;
}

// ---------------------------------------------------------------------------------------------
// Message events (`message:*`).

export type MessageType = 'text' | 'file' | 'animation' | 'audio' | 'picker' | 'field' | 'carousel' | 'note' | 'event' | (string & {});

export interface MessageFileContent {
  name?: string;
  url?: string;
  /** MIME type. */
  type?: string;
  [extra: string]: unknown;
}

export interface MessageAnimationContent {
  url?: string;
  type?: string;
  [extra: string]: unknown;
}

export interface MessageAudioContent {
  url?: string;
  type?: string;
  duration?: number;
  [extra: string]: unknown;
}

export interface MessagePickerChoice {
  value?: string;
  icon?: string;
  label?: string;
  selected?: boolean;
  action?: { type?: string; target?: string; [extra: string]: unknown };
  [extra: string]: unknown;
}

export interface MessagePickerContent {
  id?: string;
  text?: string;
  choices?: MessagePickerChoice[];
  required?: boolean;
  [extra: string]: unknown;
}

export interface MessageFieldContent {
  id?: string;
  text?: string;
  explain?: string;
  value?: string;
  required?: boolean;
  [extra: string]: unknown;
}

export interface MessageCarouselTarget {
  title?: string;
  description?: string;
  image?: string;
  actions?: Array<{ label?: string; url?: string; [extra: string]: unknown }>;
  [extra: string]: unknown;
}

export interface MessageCarouselContent {
  text?: string;
  targets?: MessageCarouselTarget[];
  [extra: string]: unknown;
}

export interface MessageEventContent {
  namespace?: string;
  text?: string;
  [extra: string]: unknown;
}

/** The `content` of a message, by message `type`. */
export interface MessageContentMap {
  text: string;
  note: string;
  file: MessageFileContent;
  animation: MessageAnimationContent;
  audio: MessageAudioContent;
  picker: MessagePickerContent;
  field: MessageFieldContent;
  carousel: MessageCarouselContent;
  event: MessageEventContent;
}

/** The content of a message of type `T`: `unknown` unless `T` names one known type. */
export type MessageContent<T extends MessageType = MessageType> = T extends keyof MessageContentMap ? MessageContentMap[T] : unknown;

/**
 * A message (`message:send` from a visitor, `message:received` from an operator). `content` is
 * `unknown` until you know the type: `data.content` narrowed with `typeof`, or the whole data as
 * `MessageData<'file'>` once `data.type === 'file'`.
 */
export interface MessageData<T extends MessageType = MessageType> extends MessageEventBase {
  type?: T;
  /** A string for `text`/`note`; an object for files, pickers, fields... (see `MessageContentMap`). */
  content?: MessageContent<T>;
  from?: 'user' | 'operator';
  /** `chat`, `email`, `urn:...` for plugins... */
  origin?: string;
  stamped?: boolean;
  automated?: boolean;
  /** When the message was sent, in milliseconds. */
  timestamp?: number;
  user?: CrispUser;
  /** User IDs of the operators mentioned. */
  mentions?: string[];
}

/** `message:updated`: a message changed (edited text, a picker's choice...). */
export interface MessageUpdatedData extends MessageEventBase {
  /** The new content: crisp-api types it as text or a picker. */
  content?: string | MessagePickerContent;
  type?: MessageType;
  from?: 'user' | 'operator';
  origin?: string;
  stamped?: boolean;
  timestamp?: number;
  user?: CrispUser;
  mentions?: string[];
}

/** `message:compose:send` (visitor) and `message:compose:receive` (operator): typing started or stopped. */
export interface MessageComposeData extends SessionEventBase {
  type?: 'start' | 'stop' | (string & {});
  /** What has been typed so far, when Crisp shares it. */
  excerpt?: string;
  timestamp?: number;
  /** The operator typing (`message:compose:receive`). */
  user?: CrispUser;
}

/** `message:acknowledge:*`: messages read, unread or delivered. */
export interface MessageAcknowledgeData extends SessionEventBase {
  origin?: string;
  /** The messages acknowledged. */
  fingerprints?: number[];
}

/** `message:acknowledge:ignored`. */
export interface MessageAcknowledgeIgnoredData extends MessageAcknowledgeData {
  details?: { type?: string; reason?: string; [extra: string]: unknown };
}

// ---------------------------------------------------------------------------------------------
// Spam events.

export interface SpamMessageData extends SpamEventBase {
  type?: string;
  reason?: string;
  metadata?: Record<string, unknown>;
  headers?: Record<string, string>;
  timestamp?: number;
}

export interface SpamDecisionData extends SpamEventBase {
  action?: string;
}

// ---------------------------------------------------------------------------------------------
// People events (contact profiles).

export interface PeopleEmployment {
  domain?: string;
  name?: string;
  role?: string;
  title?: string;
  [extra: string]: unknown;
}

export interface PeoplePerson {
  nickname?: string;
  avatar?: string;
  phone?: string;
  address?: string;
  website?: string;
  gender?: string;
  geolocation?: CrispGeolocation;
  locales?: string[];
  timezone?: number;
  employment?: PeopleEmployment;
  [extra: string]: unknown;
}

export interface PeopleCompany {
  name?: string;
  legal_name?: string;
  domain?: string;
  url?: string;
  description?: string;
  geolocation?: CrispGeolocation;
  [extra: string]: unknown;
}

export interface PeopleProfileCreatedData extends PeopleEventBase {
  email?: string;
}

export interface PeopleProfileUpdatedData extends PeopleEventBase {
  email?: string;
  update?: { updated_at?: number; person?: PeoplePerson; [extra: string]: unknown };
}

export interface PeopleBindSessionData extends SessionEventBase, PeopleEventBase {}

export interface PeopleSyncProfileData extends SessionEventBase, PeopleEventBase {
  identity?: { person?: PeoplePerson; company?: PeopleCompany; [extra: string]: unknown };
}

export interface PeopleImportProgressData extends WebsiteEventBase {
  people_id?: string;
  progress?: number;
  count?: { skipped?: number; remaining?: number; [extra: string]: unknown };
  items?: {
    skipped?: Array<{ identifier?: string | null; reason?: string; [extra: string]: unknown }>;
    [extra: string]: unknown;
  };
}

export interface PeopleImportDoneData extends WebsiteEventBase {
  people_id?: string;
  error?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Campaign events.

export interface CampaignProgressData extends CampaignEventBase {
  progress?: number;
}

export interface CampaignRunningData extends CampaignEventBase {
  running?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Browsing (co-browsing) and call events.

export interface BrowsingRequestInitiatedData extends SessionEventBase {
  browsing_id?: string;
  browsing_token?: string;
}

// ---------------------------------------------------------------------------------------------
// Identity and widget events.

export interface IdentityVerifyRequestData extends SessionEventBase {
  plugin_id: string;
  target?: string;
  code?: string;
  confirm_url?: string;
}

export interface WidgetActionProcessedData extends SessionEventBase {
  plugin_id: string;
  correlation_id?: string;
  outcome?: 'success' | 'failure' | (string & {});
  result?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Status and website events.

export interface StatusHealthChangedData extends WebsiteEventBase {
  health?: 'healthy' | 'sick' | 'dead' | (string & {});
  nodes?: Array<{ label?: string; replica?: string; [extra: string]: unknown }>;
}

export interface WebsiteUpdateVisitorsCountData extends WebsiteEventBase {
  visitors_count?: number;
}

export interface WebsiteUpdateOperatorsAvailabilityData extends WebsiteEventBase {
  /** The operator whose availability changed. */
  user_id?: string;
  availability?: { type?: CrispAvailability; [extra: string]: unknown };
}

export interface WebsiteUsersAvailableData extends WebsiteEventBase {
  available?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Bucket and media events. crisp-api gives these payloads no `website_id` (the envelope has it).

/** `bucket:url:*:generated`: a signed upload URL (see crisp-api's Generate Bucket URL call). */
export interface BucketUrlGeneratedData {
  website_id?: string;
  from?: string;
  id?: string;
  identifier?: string;
  type?: string;
  resource?: { type?: string; id?: string; [extra: string]: unknown };
  policy?: { size_limit?: number; [extra: string]: unknown };
  url?: { resource?: string; signed?: string; [extra: string]: unknown };
  [extra: string]: unknown;
}

export interface MediaAnimationListedData {
  website_id?: string;
  id?: number;
  identifier?: string;
  results?: Array<{ type?: string; url?: string; [extra: string]: unknown }>;
  [extra: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Email events.

export interface EmailSubscribeData extends WebsiteEventBase {
  email?: string;
  subscribed?: boolean;
}

export interface EmailTrackViewData extends WebsiteEventBase {
  type?: string;
  identifier?: string;
  mode?: string;
}

// ---------------------------------------------------------------------------------------------
// Plugin and plan events.

export interface PluginChannelData extends PluginEventBase {
  type?: string;
  identifier?: string;
  namespace?: string;
  payload?: unknown;
}

export interface PluginEventData extends PluginEventBase {
  urn?: string;
  name?: string;
  data?: Record<string, unknown>;
}

export interface PluginSubscriptionUpdatedData extends PluginEventBase {
  bound?: boolean;
  target?: string;
}

export interface PluginSettingsSavedData extends PluginEventBase {
  settings?: Record<string, unknown>;
}

export interface PlanSubscriptionUpdatedData extends WebsiteEventBase {
  plan?: { id?: string; name?: string; price?: number; trialing?: boolean; [extra: string]: unknown };
}

// ---------------------------------------------------------------------------------------------
// The map, the runtime list and the envelope.

/** The type of `data` for each namespace: all 82 of crisp-api 11.3.0's `EventsMap`. */
export interface CrispEventDataMap {
  // Session
  'session:update_availability': SessionUpdateAvailabilityData;
  'session:update_verify': SessionUpdateVerifyData;
  'session:request:initiated': SessionEventBase;
  'session:set_email': SessionSetEmailData;
  'session:set_phone': SessionSetPhoneData;
  'session:set_address': SessionSetAddressData;
  'session:set_subject': SessionSetSubjectData;
  'session:set_avatar': SessionSetAvatarData;
  'session:set_nickname': SessionSetNicknameData;
  'session:set_origin': SessionSetOriginData;
  'session:set_data': SessionSetDataData;
  'session:set_segments': SessionSetSegmentsData;
  'session:set_block': SessionSetBlockData;
  'session:set_opened': SessionOpenedClosedData;
  'session:set_closed': SessionOpenedClosedData;
  'session:set_participants': SessionSetParticipantsData;
  'session:set_mentions': SessionSetMentionsData;
  'session:set_routing': SessionSetRoutingData;
  'session:set_inbox': SessionSetInboxData;
  'session:set_state': SessionSetStateData;
  'session:sync:capabilities': SessionSyncCapabilitiesData;
  'session:sync:geolocation': SessionSyncGeolocationData;
  'session:sync:system': SessionSyncSystemData;
  'session:sync:network': SessionSyncNetworkData;
  'session:sync:timezone': SessionSyncTimezoneData;
  'session:sync:locales': SessionSyncLocalesData;
  'session:sync:pages': SessionSyncPagesData;
  'session:sync:events': SessionSyncEventsData;
  'session:sync:rating': SessionSyncRatingData;
  'session:sync:topic': SessionSyncTopicData;
  'session:removed': SessionEventBase;
  'session:error': SessionErrorData;

  // Message
  'message:updated': MessageUpdatedData;
  'message:send': MessageData;
  'message:received': MessageData;
  'message:removed': MessageEventBase;
  'message:compose:send': MessageComposeData;
  'message:compose:receive': MessageComposeData;
  'message:acknowledge:read:send': MessageAcknowledgeData;
  'message:acknowledge:read:received': MessageAcknowledgeData;
  'message:acknowledge:unread:send': MessageAcknowledgeData;
  'message:acknowledge:delivered': MessageAcknowledgeData;
  'message:acknowledge:ignored': MessageAcknowledgeIgnoredData;
  'message:notify:unread:send': SessionEventBase;
  'message:notify:unread:received': SessionEventBase;

  // Spam
  'spam:message': SpamMessageData;
  'spam:decision': SpamDecisionData;

  // People
  'people:profile:created': PeopleProfileCreatedData;
  'people:profile:updated': PeopleProfileUpdatedData;
  'people:profile:removed': PeopleEventBase;
  'people:bind:session': PeopleBindSessionData;
  'people:sync:profile': PeopleSyncProfileData;
  'people:import:progress': PeopleImportProgressData;
  'people:import:done': PeopleImportDoneData;

  // Campaign
  'campaign:progress': CampaignProgressData;
  'campaign:dispatched': CampaignEventBase;
  'campaign:running': CampaignRunningData;

  // Browsing
  'browsing:request:initiated': BrowsingRequestInitiatedData;
  'browsing:request:rejected': SessionEventBase;

  // Call
  'call:request:initiated': CallEventBase;
  'call:request:rejected': CallEventBase;

  // Identity
  'identity:verify:request': IdentityVerifyRequestData;

  // Widget
  'widget:action:processed': WidgetActionProcessedData;

  // Status
  'status:health:changed': StatusHealthChangedData;

  // Website
  'website:update_visitors_count': WebsiteUpdateVisitorsCountData;
  'website:update_operators_availability': WebsiteUpdateOperatorsAvailabilityData;
  'website:users:available': WebsiteUsersAvailableData;

  // Bucket
  'bucket:url:upload:generated': BucketUrlGeneratedData;
  'bucket:url:avatar:generated': BucketUrlGeneratedData;
  'bucket:url:website:generated': BucketUrlGeneratedData;
  'bucket:url:campaign:generated': BucketUrlGeneratedData;
  'bucket:url:helpdesk:generated': BucketUrlGeneratedData;
  'bucket:url:status:generated': BucketUrlGeneratedData;
  'bucket:url:processing:generated': BucketUrlGeneratedData;

  // Media
  'media:animation:listed': MediaAnimationListedData;

  // Email
  'email:subscribe': EmailSubscribeData;
  'email:track:view': EmailTrackViewData;

  // Plugin
  'plugin:channel': PluginChannelData;
  'plugin:event': PluginEventData;
  'plugin:subscription:updated': PluginSubscriptionUpdatedData;
  'plugin:settings:saved': PluginSettingsSavedData;

  // Plan
  'plan:subscription:updated': PlanSubscriptionUpdatedData;
}

export type CrispNamespace = keyof CrispEventDataMap;

/** Every typed namespace, in crisp-api's order: the keys of `CrispEventDataMap`, at run time. */
export const CRISP_NAMESPACES = [
  'session:update_availability',
  'session:update_verify',
  'session:request:initiated',
  'session:set_email',
  'session:set_phone',
  'session:set_address',
  'session:set_subject',
  'session:set_avatar',
  'session:set_nickname',
  'session:set_origin',
  'session:set_data',
  'session:set_segments',
  'session:set_block',
  'session:set_opened',
  'session:set_closed',
  'session:set_participants',
  'session:set_mentions',
  'session:set_routing',
  'session:set_inbox',
  'session:set_state',
  'session:sync:capabilities',
  'session:sync:geolocation',
  'session:sync:system',
  'session:sync:network',
  'session:sync:timezone',
  'session:sync:locales',
  'session:sync:pages',
  'session:sync:events',
  'session:sync:rating',
  'session:sync:topic',
  'session:removed',
  'session:error',
  'message:updated',
  'message:send',
  'message:received',
  'message:removed',
  'message:compose:send',
  'message:compose:receive',
  'message:acknowledge:read:send',
  'message:acknowledge:read:received',
  'message:acknowledge:unread:send',
  'message:acknowledge:delivered',
  'message:acknowledge:ignored',
  'message:notify:unread:send',
  'message:notify:unread:received',
  'spam:message',
  'spam:decision',
  'people:profile:created',
  'people:profile:updated',
  'people:profile:removed',
  'people:bind:session',
  'people:sync:profile',
  'people:import:progress',
  'people:import:done',
  'campaign:progress',
  'campaign:dispatched',
  'campaign:running',
  'browsing:request:initiated',
  'browsing:request:rejected',
  'call:request:initiated',
  'call:request:rejected',
  'identity:verify:request',
  'widget:action:processed',
  'status:health:changed',
  'website:update_visitors_count',
  'website:update_operators_availability',
  'website:users:available',
  'bucket:url:upload:generated',
  'bucket:url:avatar:generated',
  'bucket:url:website:generated',
  'bucket:url:campaign:generated',
  'bucket:url:helpdesk:generated',
  'bucket:url:status:generated',
  'bucket:url:processing:generated',
  'media:animation:listed',
  'email:subscribe',
  'email:track:view',
  'plugin:channel',
  'plugin:event',
  'plugin:subscription:updated',
  'plugin:settings:saved',
  'plan:subscription:updated',
] as const;

/** Compiles only when `T` is `never`; otherwise tsc's error names what `T` holds. */
type NoneOf<T extends never> = T;

/**
 * Compile-time check, no runtime cost: `CRISP_NAMESPACES` and the keys of `CrispEventDataMap`
 * are the same set. If one gains a namespace the other lacks, tsc fails here, naming it.
 * (Exported only so that `noUnusedLocals` sees it used; nothing needs to import it.)
 */
export type CrispNamespacesInSync = [
  NoneOf<Exclude<CrispNamespace, (typeof CRISP_NAMESPACES)[number]>>,
  NoneOf<Exclude<(typeof CRISP_NAMESPACES)[number], CrispNamespace>>,
];

/** A Crisp event as delivered in a hook (the bridge checked `website_id`, `event` and `timestamp`). */
export interface CrispEvent<N extends string = string> {
  website_id: string;
  event: N;
  /** When the event happened, in milliseconds. */
  timestamp: number;
  data: N extends CrispNamespace ? CrispEventDataMap[N] : unknown;
}
