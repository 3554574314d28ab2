/**
 * EST's per-account issuance limit (10 certificates per account per hour) is one budget for the whole cluster: two
 * real `certim server --cluster` nodes on one Postgres, enrollments for one account sent in parallel to both
 * (`curl` over HTTPS pinned to the cluster's CA root, `openssl req` CSRs): exactly 10 are issued, the rest get 429
 * with Retry-After. Refused requests (a bad CSR) are refunded at either node and never use up the budget.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCluster } from './support/cluster-harness.js';

let cluster: TestCluster;
const tmp = mkdtempSync(join(tmpdir(), 'certim-cluster-est-'));

before(async () => {
  cluster = await TestCluster.start(2);
  await cluster.addUser('Erin', 'erin-pw');
});
after(async () => {
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A base64 DER CSR for /CN=Erin with a fresh RSA-2048 key. */
function csr(i: number): string {
  const der = join(tmp, `${i}.der`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tmp, `${i}.key`), '-subj', '/CN=Erin', '-outform', 'DER', '-out', der], { stdio: 'pipe' });
  const b64 = join(tmp, `${i}.b64`);
  writeFileSync(b64, readFileSync(der).toString('base64'));
  return b64;
}

/** POST simpleenroll to node `n` with curl (CA root pinned); resolves with the HTTP status and the Retry-After header. */
function enroll(n: number, body: string): Promise<{ status: number; retryAfter?: string; body: string }> {
  const node = cluster.nodes[n]!;
  const hdr = join(tmp, `h${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const out = `${hdr}.body`;
    execFile('curl', ['-sS', '--cacert', join(node.dataDir, 'ca', 'root.crt'), '-o', out, '-D', hdr, '-w', '%{http_code}',
      '--user', 'Erin:erin-pw', '--data-binary', `@${body}`, '-H', 'Content-Type: application/pkcs10',
      `https://127.0.0.1:${node.ready.https}/.well-known/est/simpleenroll`], (err, stdout) => {
      if (err) return reject(err);
      const retry = /^retry-after:\s*(\d+)/im.exec(readFileSync(hdr, 'utf8'))?.[1];
      resolve({ status: Number(stdout), body: readFileSync(out, 'latin1').slice(0, 200), ...(retry ? { retryAfter: retry } : {}) });
    });
  });
}

/**
 * The login throttle charges every password check before it runs, so a burst of parallel logins for one account may
 * be told to wait (429 RATE_LIMITED, not ENROLL_RATE_LIMITED): such a request is sent again after its Retry-After,
 * still in parallel with the others, until the enrollment itself answers (issued, refused, or ENROLL_RATE_LIMITED).
 */
async function enrollPastLoginThrottle(n: number, body: string): Promise<{ status: number; retryAfter?: string; body: string }> {
  for (let attempt = 0; ; attempt++) {
    const r = await enroll(n, body);
    if (r.status !== 429 || /ENROLL_RATE_LIMITED/.test(r.body) || attempt >= 20) return r;
    await new Promise((resolve) => setTimeout(resolve, Number(r.retryAfter ?? 1) * 1000));
  }
}

test('two nodes share one issuance budget per account: 14 parallel enrollments across both, exactly 10 issued', { timeout: 180_000 }, async () => {
  // Refused enrollments at both nodes are refunded: they never count.
  const garbage = join(tmp, 'garbage.b64');
  writeFileSync(garbage, Buffer.from('not a CSR at all').toString('base64'));
  const bad = await Promise.all([0, 1, 0, 1].map((n) => enrollPastLoginThrottle(n, garbage)));
  for (const r of bad) assert.ok(r.status >= 400 && r.status !== 429, `a bad CSR is refused, not rate-limited (${r.status} ${r.body})`);

  const bodies = Array.from({ length: 14 }, (_, i) => csr(i));
  const results = await Promise.all(bodies.map((b, i) => enrollPastLoginThrottle(i % 2, b)));
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 10, `10 issued across the cluster: ${results.map((r) => `${r.status} ${r.status === 200 ? '' : r.body}`).join(' | ')}`);
  const limited = results.filter((r) => r.status === 429);
  assert.equal(limited.length, 4, statuses.join(' '));
  for (const r of limited) {
    assert.match(r.body, /ENROLL_RATE_LIMITED/);
    assert.ok(Number(r.retryAfter) > 3000, `Retry-After near an hour (${r.retryAfter})`);
  }
  // Both nodes refuse from now on.
  for (const n of [0, 1]) assert.match((await enroll(n, bodies[0]!)).body, /ENROLL_RATE_LIMITED/);
});
