/**
 * Your code goes here: one handler per Crisp event namespace. Each runs once per event (see
 * the README, "Writing a handler"): throw to have the event retried, return to mark it done.
 * Events with no handler are acknowledged and logged.
 *
 *   'session:set_email': async (event, { logger, dedupeKey }) => {
 *     await crm.upsertContact({ email: event.data.email, idempotencyKey: dedupeKey });
 *   },
 */
import { defineHandlers } from '../registry';
import { countVisitorMessages } from './count-visitor-messages';

export const handlers = defineHandlers({
  'message:send': countVisitorMessages,
});
