// Which URLs are the workbench itself: our app:// origin (packaged) or the Vite dev server (dev).
// Navigation, IPC senders and the CSP are all decided from this.

import { CONTENT_SECURITY_POLICY } from '../core/service/csp';

export const APP_SCHEME = 'lguest-app';
export const APP_HOST = 'workbench';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export function makeIsAppUrl(devServerUrl: string | undefined): (url: string) => boolean {
  const devOrigin = devServerUrl ? new URL(devServerUrl).origin : null;
  return (url) => {
    try {
      const u = new URL(url);
      if (devOrigin !== null && u.origin === devOrigin) return true;
      return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
    } catch {
      return false;
    }
  };
}

/** The CSP; Vite's dev server additionally needs its inline React-refresh preamble and HMR socket. */
export function contentSecurityPolicy(devServerUrl: string | undefined): string {
  if (!devServerUrl) return CONTENT_SECURITY_POLICY;
  return CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "connect-src 'self'",
    `connect-src 'self' ${devServerUrl.replace(/^http/, 'ws')}`,
  );
}
