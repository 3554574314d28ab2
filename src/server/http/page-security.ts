/**
 * Security headers for the HTML pages the web client is served from (docs/protocol.md §14.4), and the placeholder
 * page at `/` until the web app lands. The policy: scripts, styles, images and connections from this origin only
 * (no inline script, no third-party origin), the OSCAR WebSocket on this same origin, never framed, HTTPS remembered,
 * no MIME sniffing, no Referer leaving the page.
 */

/** One year, in seconds: how long a browser keeps to HTTPS for this host after one visit (HSTS). */
const HSTS_MAX_AGE = 31_536_000;

/** A `Host` header we are willing to echo into `connect-src` (a name or IP literal and an optional port). */
const SAFE_HOST = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

/**
 * The Content-Security-Policy of a web client page. `host` is the request's `Host` header: when it is a plain
 * host[:port], `connect-src` also names `wss://<host>` explicitly, because older browsers do not let `'self'`
 * cover the wss: scheme; anything else is left out rather than echoed.
 */
export function contentSecurityPolicy(host?: string): string {
  const connect = ["'self'"];
  if (host !== undefined && SAFE_HOST.test(host)) connect.push(`wss://${host.toLowerCase()}`);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Every header a web client page is sent with (CSP, HSTS, nosniff, Referrer-Policy, framing, isolation). */
export function pageSecurityHeaders(host?: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(host),
    // No includeSubDomains: the server does not speak for its parent domain's other hosts.
    'Strict-Transport-Security': `max-age=${HSTS_MAX_AGE}`,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    // For browsers without CSP frame-ancestors.
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

/** The page at `/` until the web client is built: static, no script, so the headers can be tested now. */
export const PLACEHOLDER_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>certim</title></head>
<body>
<h1>certim</h1>
<p>This server speaks OSCAR over TLS and over a WebSocket at <code>/oscar</code>. The web client is not installed yet;
use the <code>certim</code> command-line client.</p>
</body>
</html>
`;
