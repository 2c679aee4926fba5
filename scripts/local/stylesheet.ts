/**
 * The Ticket Center stylesheet on the local stack: the same file (`ticketCenterStylesheet`) at
 * the same path as the deployed CloudFront distribution serves it (`/ticket-center.css`), read
 * again on every request so an edit shows on the next reload, with the checks synth applies
 * (an edit that synth would refuse is answered 500 with synth's message, not served).
 */
import * as path from 'node:path';
import { CrispBridgeConfigError, readStylesheet } from '../../lib/config';
import { STYLESHEET_CONTENT_TYPE, STYLESHEET_OBJECT_KEY } from '../../lib/constructs/ticket-center-stylesheet';
import type { LocalResponse, LocalSite } from './api-gateway';

export interface StylesheetRoute {
  /** `GET` (a `HEAD` is answered too, without the body). */
  readonly method: 'GET';
  /** `/ticket-center.css`, the deployed URL's path. */
  readonly path: string;
  /** The absolute path of the file served. */
  readonly file: string;
  /** Reads and checks the file now: 200 with the CSS, 404 if it is gone, 500 if synth would refuse it. */
  respond(method?: string): LocalResponse;
  /** The route as a local-only page (`localSite`): answers `GET`/`HEAD /ticket-center.css`, undefined otherwise. */
  readonly site: LocalSite;
}

const HEADERS = {
  'content-type': STYLESHEET_CONTENT_TYPE,
  // Always revalidated: the next reload shows the edit.
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  // As deployed: a public stylesheet any page may load.
  'access-control-allow-origin': '*',
} as const;

/** What a local HTTP route needs to serve `file` (relative paths from the current directory, resolved now). */
export function stylesheetRoute(file: string): StylesheetRoute {
  const absolute = path.resolve(file);
  const routePath = `/${STYLESHEET_OBJECT_KEY}`;
  const respond = (method = 'GET'): LocalResponse => {
    const head = method.toUpperCase() === 'HEAD';
    try {
      const { css } = readStylesheet(absolute);
      return { status: 200, headers: { ...HEADERS }, body: head ? '' : css };
    } catch (error) {
      if (!(error instanceof CrispBridgeConfigError)) throw error;
      const status = /does not exist/.test(error.message) ? 404 : 500;
      return {
        status,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
        body: head ? '' : `${error.message}\n`,
      };
    }
  };
  return {
    method: 'GET',
    path: routePath,
    file: absolute,
    respond,
    site: async (request) => {
      if (request.pathname !== routePath || (request.method !== 'GET' && request.method !== 'HEAD')) return undefined;
      return respond(request.method);
    },
  };
}
