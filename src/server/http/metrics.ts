/** Prometheus text exposition (format 0.0.4) of the server's counters and gauges, for `/metrics`. */

/** Help text and type for the metrics we know; unknown names are exported as untyped. */
const DESCRIPTIONS: Record<string, { help: string; type: 'counter' | 'gauge' }> = {
  connections: { help: 'Open OSCAR connections.', type: 'gauge' },
  sessions: { help: 'Signed-on OSCAR sessions.', type: 'gauge' },
  snacs_in: { help: 'SNACs received.', type: 'counter' },
  snacs_out: { help: 'SNACs sent.', type: 'counter' },
  ims_relayed: { help: 'IMs relayed to online users.', type: 'counter' },
  ims_stored: { help: 'IMs stored for offline users.', type: 'counter' },
  rate_dropped: { help: 'SNACs dropped by rate limiting.', type: 'counter' },
  limit_disconnects: { help: 'Connections closed for rate or output limits.', type: 'counter' },
  malformed_frames: { help: 'Connections closed for malformed FLAP framing.', type: 'counter' },
  malformed_snacs: { help: 'Malformed SNAC bodies answered with an error.', type: 'counter' },
  logins_ok: { help: 'Successful OSCAR logins.', type: 'counter' },
  logins_failed: { help: 'Failed OSCAR logins.', type: 'counter' },
  http_requests: { help: 'HTTPS requests served.', type: 'counter' },
  est_enrollments: { help: 'Certificates issued over EST (simpleenroll + simplereenroll).', type: 'counter' },
  est_refusals: { help: 'EST requests refused (bad CSR, wrong name, weak key, ...).', type: 'counter' },
  est_auth_failures: { help: 'EST authentication failures (password or client certificate).', type: 'counter' },
  est_rate_limited: { help: 'EST requests refused with 429 by the failed-login throttle.', type: 'counter' },
  login_checks: { help: 'Password checks actually run (OSCAR and EST; throttled attempts run none).', type: 'counter' },
  login_throttled: { help: 'Login attempts refused by the throttle without a password check.', type: 'counter' },
  login_busy: { help: 'Login attempts refused because password checks were saturated.', type: 'counter' },
  connections_refused: { help: 'Connections refused by the per-address or global connection caps (all listeners).', type: 'counter' },
  ws_upgrades: { help: 'OSCAR WebSocket upgrades completed.', type: 'counter' },
  ws_refused: { help: 'OSCAR WebSocket upgrades refused (path, Origin, unauthenticated caps).', type: 'counter' },
  ws_bad_messages: { help: 'OSCAR WebSockets closed for an oversize or text message or a ping flood.', type: 'counter' },
  ws_unauthenticated: { help: 'OSCAR WebSockets open that have not redeemed a cookie yet.', type: 'gauge' },
  uptime_seconds: { help: 'Seconds since the server started.', type: 'gauge' },
  proxy_connections: { help: 'Open rendezvous proxy connections.', type: 'gauge' },
  proxy_waiting: { help: 'Proxy init-sends waiting for their peer.', type: 'gauge' },
  proxy_pairs: { help: 'Spliced proxy pairs.', type: 'gauge' },
  proxy_pairs_spliced: { help: 'Proxy pairs spliced since start.', type: 'counter' },
  proxy_bytes_relayed: { help: 'Bytes relayed by the rendezvous proxy.', type: 'counter' },
  proxy_refused: { help: 'Proxy connections refused or cut (limits, timeouts, no rendezvous).', type: 'counter' },
};

/** camelCase -> snake_case ("imsRelayed" -> "ims_relayed"). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/[^a-z0-9_]/g, '_');
}

/** Renders name -> value pairs as Prometheus text, each prefixed `certim_`. Non-finite values are skipped. */
export function renderPrometheus(values: Record<string, number>): string {
  const out: string[] = [];
  for (const [raw, value] of Object.entries(values)) {
    if (!Number.isFinite(value)) continue;
    const name = snakeCase(raw);
    const d = DESCRIPTIONS[name];
    const full = `certim_${name}${d?.type === 'counter' ? '_total' : ''}`;
    if (d) out.push(`# HELP ${full} ${d.help}`, `# TYPE ${full} ${d.type}`);
    out.push(`${full} ${value}`);
  }
  return `${out.join('\n')}\n`;
}
