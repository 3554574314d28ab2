/**
 * The stable names of every event the server logs. Operators alert and grep on these (`"event":"login.throttled"`),
 * so a name, once shipped, is never renamed or reused for something else; add new ones instead. Each line says
 * the level it is logged at and the fields it carries. Field values are always encoded by the logger (log.ts):
 * never a password, key, cookie or message text is passed in the first place.
 *
 * Common fields: `screenName` (as the client sent it), `address` (peer IP), `tls` (boolean), `via`
 * (`oscar` | `est`), `error` (an error message).
 */
export const LogEvent = {
  // Server lifecycle (main.ts, cli/commands/server.ts).
  /** info: database opened — backend, url (password redacted). */
  STORE_OPEN: 'server.store_open',
  /** info: CA ready — dir, domain, rootFingerprint. */
  CA_READY: 'server.ca_ready',
  /** info: server TLS certificate (re)issued — serial, names, notAfter. */
  TLS_CERT_ISSUED: 'server.tls_cert_issued',
  /** info: the server TLS certificate was renewed in place — serial, notAfter. */
  TLS_CERT_RENEWED: 'server.tls_cert_renewed',
  /** info: the connection caps in force at start — the caps by name. */
  CONNECTION_CAPS: 'server.connection_caps',
  /** error: TLS certificate renewal failed — error. */
  TLS_CERT_RENEWAL_FAILED: 'server.tls_cert_renewal_failed',
  /** error: the scheduled CRL rebuild failed — error. */
  CRL_REFRESH_FAILED: 'server.crl_refresh_failed',
  /** info: every listener bound — oscar, oscarTls, https, publicHost, caFingerprint, adminSocket. */
  READY: 'server.ready',
  /** info: shutting down — signal. */
  STOPPING: 'server.stopping',
  /** info: shut down cleanly. */
  STOPPED: 'server.stopped',
  /** error: a shutdown step failed — error. */
  SHUTDOWN_STEP_FAILED: 'server.shutdown_step_failed',
  /** warn: a stale data-directory lock (its process is gone) was taken over — stalePid. */
  STALE_LOCK_REMOVED: 'server.stale_lock_removed',
  /** debug: the heap was trimmed after a burst (memory-trim.ts) — youngBeforeMB, youngAfterMB, heapBeforeMB, heapAfterMB, pauseMs. */
  MEMORY_TRIMMED: 'server.memory_trimmed',
  /** warn: the memory trim failed and is off until restart — error. */
  MEMORY_TRIM_FAILED: 'server.memory_trim_failed',
  /** warn: a CA warning at startup — detail. */
  CA_WARNING: 'server.ca_warning',

  // Listeners and the store.
  /** error: a listener failed — listener (`oscar` | `oscar-tls` | `https` | `admin`), error. */
  LISTENER_ERROR: 'listener.error',
  /** error: a store operation failed — operation, error. */
  STORE_ERROR: 'store.error',
  /** error: a delivery-directory operation failed (presence, fan-out, a node's delivery) — operation, error. */
  DELIVERY_FAILED: 'delivery.failed',
  /** debug: a TLS handshake failed — listener, address, error. */
  TLS_HANDSHAKE_FAILED: 'tls.handshake_failed',
  /** error: an HTTPS request failed unexpectedly (answered 500) — path, error. */
  HTTP_REQUEST_FAILED: 'http.request_failed',

  // Logins (docs/protocol.md §2.1) and EST authentication.
  /** info: a password check succeeded — screenName, address, tls, via, clientId, method (`password` | `md5`). */
  LOGIN_OK: 'login.ok',
  /** warn: a login failed (wrong password or unknown account) — screenName, address, tls, via. */
  LOGIN_FAILED: 'login.failed',
  /** warn: a login was refused by the throttle before any check — screenName, address, tls, via, scope, retryAfterSeconds (EST). */
  LOGIN_THROTTLED: 'login.throttled',
  /** warn: a disabled account tried to log in — screenName, address, via. */
  LOGIN_DISABLED: 'login.disabled',
  /** warn: a plaintext-password login on plain TCP was refused unread — address. */
  LOGIN_PLAINTEXT_REFUSED: 'login.plaintext_refused',
  /** warn: a login was refused because too many password checks were running — screenName, address, via. */
  LOGIN_BUSY: 'login.busy',
  /** info: an account got a sign-on back-off after a rate-limit sign-off — screenName, seconds. */
  LOGIN_PENALTY: 'login.penalty',

  // Sessions (docs/protocol.md §2.2, §3.3).
  /** info: a BOS session started — screenName, address, tls, clientId. */
  SIGN_ON: 'session.sign_on',
  /** info: a BOS session ended — screenName, address, tls, reason, seconds (how long it lasted). */
  SIGN_OFF: 'session.sign_off',
  /** info: a newer sign-on replaced a session — screenName. */
  SESSION_TAKEN_OVER: 'session.taken_over',
  /** error: starting a session failed — screenName, error. */
  SESSION_START_FAILED: 'session.start_failed',

  // Connections.
  /** debug: a connection closed — address, why. */
  CONN_CLOSED: 'conn.closed',
  /** warn: disconnected for exceeding its rate class (docs/protocol.md §3.1) — address, screenName, class. */
  RATE_LIMIT_DISCONNECT: 'conn.rate_limit_disconnect',
  /** warn: disconnected as a slow reader — address, screenName, pending (bytes). */
  SLOW_READER_DISCONNECT: 'conn.slow_reader_disconnect',
  /** warn: a connection was refused or closed by a connection cap or timeout — address, listener, reason. */
  CONN_REFUSED: 'conn.refused',
  /** debug: broken FLAP framing closed a connection — address, code. */
  BAD_FRAMING: 'conn.bad_framing',
  /** error: a SNAC handler failed (answered 0x1C) — family, subtype, error. */
  HANDLER_FAILED: 'snac.handler_failed',
  /** error: a reply SNAC was too large to encode — family, subtype, length. */
  SNAC_TOO_LARGE: 'snac.too_large',

  // Certificates (docs/protocol.md §4.2, §6.1) and EST.
  /** info: the CA issued a user certificate — screenName, serial, purpose, fingerprint. */
  CERT_ISSUED: 'cert.issued',
  /** warn: an EST enrollment was refused — screenName, op, status, reason (or address and code for a bad client certificate). */
  ENROLL_REFUSED: 'est.enroll_refused',
  /** warn: a Locate certificate-info upload was refused — screenName, code, role or length. */
  CERT_UPLOAD_REFUSED: 'cert.upload_refused',
  /** warn: a certificate was revoked — serial, screenName, reason, by (`admin`). */
  CERT_REVOKED: 'cert.revoked',
  /** info: a revoked certificate's published block was withdrawn from a user — screenName, serial, online. */
  CERT_WITHDRAWN: 'cert.withdrawn',

  // The rendezvous proxy (docs/protocol.md §8.3).
  /** debug: an init-send is waiting for its peer — user, port. */
  PROXY_WAITING: 'proxy.waiting',
  /** info: two proxy connections were paired — from, to. */
  PROXY_PAIRED: 'proxy.paired',
  /** info: a paired proxy splice ended — reason, from, to. */
  PROXY_CLOSED: 'proxy.closed',
  /** info: a proxy connection was refused — reason (stable code), user. */
  PROXY_REFUSED: 'proxy.refused',

  // OSCAR over WebSocket on the HTTPS port (docs/protocol.md §14).
  /** info (a foreign Origin) or debug: a WebSocket upgrade was refused — code, address, origin, path. */
  WS_REFUSED: 'ws.refused',
  /** warn: a WebSocket was closed for an oversize or text message or a ping flood — address, why. */
  WS_BAD_MESSAGE: 'ws.bad_message',

  // The cluster (server/cluster/, ARCHITECTURE.md "Cluster").
  /** info: this node joined a cluster — node, cluster, nats (redacted URL). */
  CLUSTER_JOINED: 'cluster.joined',
  /** info: which CA the cluster uses — detail (this node's, or the one another node created). */
  CLUSTER_CA: 'cluster.ca',
  /** warn: the NATS connection was lost; reconnecting — url (redacted). */
  CLUSTER_NATS_LOST: 'cluster.nats_lost',
  /** info: the NATS connection is back — url (redacted), outageMs. */
  CLUSTER_NATS_BACK: 'cluster.nats_back',
  /** warn: a node stopped answering; its sessions are removed from the directory — node, users. */
  CLUSTER_NODE_DEAD: 'cluster.node_dead',
  /** warn: a session was lost from the directory during a NATS outage and is signed off — sessionId. */
  CLUSTER_SESSION_LOST: 'cluster.session_lost',
  /** warn: a valid cookie was refused because another node (or this one) redeemed it already, or the cluster-wide claim failed — address, screenName, reason, error. */
  COOKIE_REFUSED: 'cluster.cookie_refused',
  /** warn or error: a cluster operation failed (delivery to a node, a watch, a record) — operation, error. */
  CLUSTER_ERROR: 'cluster.error',

  // Admin control channel (server/admin/).
  /** info: an admin command ran (error when it failed inside the server) — command, ok, code or error. */
  ADMIN_COMMAND: 'admin.command',
  /** warn: an admin connection was refused or cut — reason. */
  ADMIN_REFUSED: 'admin.refused',
  /** info: an account's login throttle was cleared by the admin — screenName, hadFailures. */
  ACCOUNT_UNLOCKED: 'account.unlocked',

  // The logger itself.
  /** warn: lines of one event were dropped because too many distinct ones came in one window — dropped, count. */
  LOG_DROPPED: 'log.dropped',
} as const;

/** One of the stable event names of {@link LogEvent}. */
export type LogEventName = (typeof LogEvent)[keyof typeof LogEvent];

/** Every stable event name (for tests and docs). */
export const LOG_EVENT_NAMES: readonly LogEventName[] = Object.values(LogEvent);
