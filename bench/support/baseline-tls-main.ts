/**
 * Child-process entry for the pending-handshake baseline: a bare Node `tls.createServer` (the shape certim's TLS
 * listeners had before their TCP front) with a P-256 certificate made by openssl, a 30 s handshake timeout and no
 * caps. Prints one ready line with its port and serves the parent's IPC requests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { serveParentRequests } from './child-ipc.js';

const dir = mkdtempSync(join(tmpdir(), 'certim-bench-tls-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
  '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' });
const server = createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')), handshakeTimeout: 30_000 }, (s) => s.resume());
server.on('tlsClientError', () => {});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
rmSync(dir, { recursive: true, force: true });
serveParentRequests(() => new Promise<void>((resolve) => server.close(() => resolve())));
const addr = server.address();
process.stdout.write(`${JSON.stringify({ event: 'ready', oscarTls: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
