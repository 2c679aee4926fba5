/**
 * The reference app's handler module (cdk.json's `handlers.entry`, what `npm start` runs): the
 * shipped examples composed, as your own module would compose your handlers.
 * - every visitor message is counted (`VisitorMessages`, ./count-visitor-messages);
 * - with `crispApi: true`, a visitor's first chat message outside business hours gets one
 *   automated reply per conversation (./auto-responder); with it off, nothing is sent.
 *
 * Its settings come from cdk.json (`handlers.environment`), locally too; an environment
 * variable of the same name overrides them for `npm start`.
 */
import { defineHandlers } from '../registry';
import { AUTO_RESPONDER_SETTINGS, autoResponder } from './auto-responder';
import { countVisitorMessages } from './count-visitor-messages';

export default defineHandlers(
  {
    'message:send': async (event, context) => {
      await countVisitorMessages(event, context);
      if (context.crispApiEnabled) await autoResponder(event, context);
    },
  },
  { settings: AUTO_RESPONDER_SETTINGS },
);
