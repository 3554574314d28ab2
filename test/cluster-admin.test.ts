/**
 * The admin socket of one node acts on the whole cluster (three real `certim server --cluster` processes):
 * `certim admin sessions` at node A lists the sessions of every node, each with its node, and `certim admin cert
 * revoke` at node A withdraws the owner's Locate block from their session at node B, whose presence is re-announced
 * without the certificate hash to a watcher at node C (docs/protocol.md §4.2).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCertificateInfo } from '../src/wire/cert-info.js';
import { decodeUserInfoList } from '../src/wire/families/buddy.js';
import { InfoQueryFlag, decodeUserInfoReply, encodeSetInfo, encodeUserInfoQuery2 } from '../src/wire/families/locate.js';
import { runCli } from './support/cli-harness.js';
import { TestCluster } from './support/cluster-harness.js';
import { signOn, type BosClient, type Endpoint } from './support/oscar-test-client.js';

let cluster: TestCluster;
let ep: Endpoint[];
const clients: BosClient[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'certim-cluster-admin-'));

before(async () => {
  cluster = await TestCluster.start(3);
  ep = cluster.nodes.map((n) => ({ port: n.ready.oscar }));
  for (const u of ['alice', 'bob', 'carol']) await cluster.addUser(u, `${u}-pw`);
});
after(async () => {
  for (const c of clients) c.conn.close();
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const on = async (node: number, user: string, buddies: string[] = []): Promise<BosClient> => {
  const c = await signOn(ep[node]!, user, `${user}-pw`, 'md5-strong', { multiConn: 1, buddies });
  clients.push(c);
  return c;
};
const certHash = (body: Uint8Array): Uint8Array | undefined => decodeUserInfoList(body)[0]!.certInfoHash;
const f = (name: string): string => join(tmp, name);

/** Enrolls Bob at node `n` over EST (openssl + curl, CA root pinned); the certificate's DER and serial. */
function enrollBob(n: number): { der: Buffer; serial: string } {
  const node = cluster.nodes[n]!;
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('bob.key'), '-subj', '/CN=bob', '-outform', 'DER', '-out', f('bob.csr')], { stdio: 'pipe' });
  execFileSync('sh', ['-c', `base64 -w0 < '${f('bob.csr')}' > '${f('bob.csr.b64')}'`]);
  execFileSync('curl', ['-sS', '--fail', '--cacert', join(node.dataDir, 'ca', 'root.crt'), '-o', f('bob.p7.b64'), '--user', 'bob:bob-pw',
    '--data-binary', `@${f('bob.csr.b64')}`, '-H', 'Content-Type: application/pkcs10', `https://127.0.0.1:${node.ready.https}/.well-known/est/simpleenroll`]);
  writeFileSync(f('bob.p7'), Buffer.from(readFileSync(f('bob.p7.b64'), 'latin1'), 'base64'));
  execFileSync('sh', ['-c', `openssl pkcs7 -inform DER -in '${f('bob.p7')}' -print_certs | openssl x509 -outform DER -out '${f('bob.der')}'`]);
  const serial = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', f('bob.der'), '-noout', '-serial'], { encoding: 'utf8' }).trim().replace(/^serial=/i, '');
  return { der: readFileSync(f('bob.der')), serial };
}

test('admin sessions at one node lists every node\'s sessions with their node', async () => {
  await on(0, 'alice');
  await on(1, 'bob');
  await on(2, 'carol', ['bob']);
  const r = await runCli(['admin', 'sessions', '--json', '--data-dir', cluster.nodes[0]!.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ screenName: string; node: string }>;
  const nodeOf = (i: number) => cluster.nodes[i]!.ready.cluster.node;
  assert.deepEqual(list.map((s) => [s.screenName, s.node]), [['alice', nodeOf(0)], ['bob', nodeOf(1)], ['carol', nodeOf(2)]]);
  const table = await runCli(['admin', 'sessions', '--data-dir', cluster.nodes[2]!.dataDir]);
  assert.match(table.stdout, /NODE/);
  assert.match(table.stdout, /3 online/);
});

test('admin cert revoke at node A withdraws the block of a user signed on at node B; a watcher at C sees the hash go', { timeout: 120_000 }, async () => {
  const bob = clients.find((c) => c.screenName === 'bob')!;
  const carol = clients.find((c) => c.screenName === 'carol')!;
  const { der, serial } = enrollBob(1);
  bob.conn.sendSnac(0x0002, 0x0004, encodeSetInfo({ certInfo: encodeCertificateInfo({ certA: der }) }));
  await carol.conn.expectSnacWhere(0x0003, 0x000b, (s) => certHash(s.body) !== undefined, 5000);

  const r = await runCli(['admin', 'cert', 'revoke', serial, '--reason', 'keyCompromise', '--data-dir', cluster.nodes[0]!.dataDir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const update = await carol.conn.expectSnacWhere(0x0003, 0x000b, (s) => certHash(s.body) === undefined, 5000);
  assert.equal(decodeUserInfoList(update.body)[0]!.screenName, 'bob', 'bob re-announced without 0x001B, from node B');
  carol.conn.sendSnac(0x0002, 0x0015, encodeUserInfoQuery2({ flags: InfoQueryFlag.CERTIFICATES, screenName: 'bob' }));
  const reply = decodeUserInfoReply((await carol.conn.expectSnac(0x0002, 0x0006, 5000)).body);
  assert.equal(reply.tlvs.bytes(0x0006), undefined, 'no block served any more');
  assert.equal(reply.user.certInfoHash, undefined, 'and no hash in bob\'s user info');
});
