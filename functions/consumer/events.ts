/**
 * Types of the Crisp events the consumer hands to your handlers: the envelope, and `data` for
 * the common namespaces (same format as Crisp's RTM API events). Fields Crisp may leave out are
 * optional; namespaces not listed here still reach a handler, with `data: unknown`.
 */

export interface CrispUser {
  nickname?: string;
  user_id?: string;
}

export type MessageType = 'text' | 'file' | 'animation' | 'audio' | 'picker' | 'field' | 'carousel' | 'note' | 'event' | (string & {});

export interface MessageData {
  website_id: string;
  session_id: string;
  type: MessageType;
  /** A string for `text`/`note`; an object for files, pickers, fields... */
  content: unknown;
  from: 'user' | 'operator';
  /** `chat`, `email`, `urn:...` for plugins... */
  origin: string;
  stamped?: boolean;
  timestamp: number;
  fingerprint: number;
  user?: CrispUser;
  mentions?: string[];
  [extra: string]: unknown;
}

export interface SessionEventBase {
  website_id: string;
  session_id: string;
}

export interface CrispEventDataMap {
  'message:send': MessageData;
  'message:received': MessageData;
  'message:updated': Partial<MessageData> & SessionEventBase & { fingerprint: number };
  'message:removed': SessionEventBase & { fingerprint: number };
  'session:set_email': SessionEventBase & { email: string };
  'session:set_phone': SessionEventBase & { phone: string };
  'session:set_nickname': SessionEventBase & { nickname: string };
  'session:set_data': SessionEventBase & { data: Record<string, unknown> };
  'session:set_state': SessionEventBase & { state: 'pending' | 'unresolved' | 'resolved' | (string & {}) };
  'session:set_segments': SessionEventBase & { segments: string[] };
  'session:removed': SessionEventBase;
  'people:profile:created': { website_id: string; people_id: string; email?: string; [extra: string]: unknown };
  'people:profile:updated': { website_id: string; people_id: string; email?: string; [extra: string]: unknown };
  'people:profile:removed': { website_id: string; people_id: string; [extra: string]: unknown };
  'campaign:dispatched': { website_id: string; campaign_id: string; [extra: string]: unknown };
  'status:health:changed': { website_id: string; health: string; [extra: string]: unknown };
}

export type CrispNamespace = keyof CrispEventDataMap;

/** A Crisp event as delivered in a hook. */
export interface CrispEvent<N extends string = string> {
  website_id: string;
  event: N;
  /** When the event happened, in milliseconds. */
  timestamp: number;
  data: N extends CrispNamespace ? CrispEventDataMap[N] : unknown;
}
