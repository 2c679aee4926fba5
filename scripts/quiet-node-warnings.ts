/**
 * Imported first by the local commands (npm start, npm run hook / token / dlq / event) and by
 * jest (setupFiles): keeps the AWS SDK's NodeVersionSupportWarning out of their output.
 *
 * On Node < 22, the first AWS SDK client a process builds calls
 * `process.emitWarning("NodeVersionSupportWarning: The AWS SDK for JavaScript (v3) versions
 * published after the first week of January 2027 will require node >=22 ...")` — nine lines on
 * stderr (@aws-sdk/core, `emitWarningIfUnsupportedVersion`). The SDK has a switch for exactly
 * that warning, read when the warning would be emitted:
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`. This module sets it, unless it is
 * already set (so `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false npm start` shows the
 * warning again). Every other warning, the SDK's own included, is left alone.
 *
 * The variable is inherited by child processes, which is what the commands want too.
 */
export const NODE_VERSION_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

if (process.env[NODE_VERSION_WARNING_SWITCH] === undefined) process.env[NODE_VERSION_WARNING_SWITCH] = 'true';
