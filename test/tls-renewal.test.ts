/**
 * The server TLS certificate is renewed in place on both TLS listeners — OSCAR over TLS as well as HTTPS — once two
 * thirds of its life have passed (injected clock), and the renewed listeners keep the TLS policy (static RSA still
 * refused: `setSecureContext` replaces every option).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/main.js';

const DAY = 86_400_000;

function serialOf(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial.toLowerCase());
    });
    s.on('error', reject);
  });
}

test('renewal replaces the certificate on OSCAR/TLS and HTTPS, keeping the TLS policy', { timeout: 180_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'certim-renew-'));
  const clock = { t: Date.now() };
  const server = await startServer({ dataDir: join(tmp, 'data'), host: '127.0.0.1', port: 0, tlsPort: 0, httpPort: 0, now: () => clock.t, env: {} });
  try {
    const root = readFileSync(join(tmp, 'data', 'ca', 'root.crt'), 'utf8');
    const first = await serialOf(server.ports.oscarTls, root);
    assert.equal(await serialOf(server.ports.https, root), first);
    assert.equal(await server.renewTlsIfDue(), false, 'not due yet');
    clock.t += 61 * DAY; // past two thirds of 90 days
    assert.equal(await server.renewTlsIfDue(), true);
    const renewed = await serialOf(server.ports.oscarTls, root);
    assert.notEqual(renewed, first, 'OSCAR over TLS serves the new certificate');
    assert.equal(await serialOf(server.ports.https, root), renewed, 'HTTPS too');
    assert.match(readFileSync(join(tmp, 'data', 'tls', 'server-chain.pem'), 'utf8'), /BEGIN CERTIFICATE/);
    for (const port of [server.ports.oscarTls, server.ports.https]) {
      // Asynchronously: the server runs in this process.
      const out = await new Promise<string>((resolve) => {
        const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'AES128-SHA'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        p.stdout.on('data', (d: Buffer) => { text += d.toString('latin1'); });
        p.stderr.on('data', (d: Buffer) => { text += d.toString('latin1'); });
        p.on('close', () => resolve(text));
      });
      assert.match(out, /handshake failure/, `static RSA still refused on ${port} after renewal`);
    }
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
