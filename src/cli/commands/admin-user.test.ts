import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { aimMd5Strong, aimMd5Weak, checkLegacyLogin, verifyPassword } from '../../server/auth/password.js';
import { openStore } from '../../store/index.js';
import { runAdmin } from './admin.js';
import { runAdminUser } from './admin-user.js';

const root = mkdtempSync(join(tmpdir(), 'certim-admin-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `d${++n}`);

/** Runs `certim admin user ARGV` with the given stdin text (no TTY) and captures the output. */
async function user(argv: string[], stdinText = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await runAdminUser(argv, { stdin: Readable.from([Buffer.from(stdinText)]), stdout, stderr });
  return { code, out, err };
}

async function account(dataDir: string, name: string) {
  const store = await openStore(`sqlite:${join(dataDir, 'certim.db')}`);
  try {
    return await store.accounts.get(name);
  } finally {
    await store.close();
  }
}

test('add --legacy-login with --password-stdin stores a scrypt hash and a working legacy verifier, never the password', async () => {
  const dir = newDir();
  const r = await user(['add', 'Bob Smith', '--legacy-login', '--password-stdin', '--data-dir', dir], 'hunter22\n');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /added Bob Smith \(classic MD5 login enabled\)/);
  const a = await account(dir, 'bobsmith');
  assert.ok(a);
  assert.equal(a.screenName, 'Bob Smith');
  assert.match(a.passwordHash, /^scrypt\$/);
  assert.ok(!a.passwordHash.includes('hunter22'));
  assert.equal(await verifyPassword('hunter22', a.passwordHash), true, 'trailing newline stripped');
  assert.ok(a.legacyVerifier);
  assert.equal(checkLegacyLogin(a.legacyVerifier, 'fresh-key-1', aimMd5Strong('fresh-key-1', 'hunter22'), true), true);
  assert.equal(checkLegacyLogin(a.legacyVerifier, 'fresh-key-1', aimMd5Weak('fresh-key-1', 'hunter22'), false), false, 'weak form cannot be checked');
});

test('add stores no MD5 verifier by default (and with --no-legacy-login); duplicates and bad names are refused', async () => {
  const dir = newDir();
  assert.equal((await user(['add', 'carol', '--password-stdin', '--data-dir', dir], 'secret99')).code, 0);
  const a = await account(dir, 'carol');
  assert.equal(a?.legacyLoginEnabled, false);
  assert.equal(a?.legacyVerifier, null);
  assert.equal((await user(['add', 'carl', '--no-legacy-login', '--password-stdin', '--data-dir', dir], 'secret99')).code, 0, 'the old flag still works');
  assert.equal((await account(dir, 'carl'))?.legacyVerifier, null);
  assert.equal((await user(['add', 'cora', '--legacy-login', '--no-legacy-login', '--password-stdin', '--data-dir', dir], 'secret99')).code, 2);

  const dup = await user(['add', 'CAROL', '--password-stdin', '--data-dir', dir], 'secret99');
  assert.equal(dup.code, 1);
  assert.match(dup.err, /taken/);

  const otherDir = newDir();
  for (const [name, why] of [['ab', /at least 3/], ['9lives', /start with a letter/], ['bad_name', /letters, digits and spaces/], ['a'.repeat(17), /at most 16/]] as const) {
    const bad = await user(['add', name, '--password-stdin', '--data-dir', otherDir], 'secret99');
    assert.equal(bad.code, 2, name);
    assert.match(bad.err, why);
  }
  assert.equal(existsSync(otherDir), false, 'a refused command creates no database');
});

test('list shows accounts, as a table and as JSON', async () => {
  const dir = newDir();
  await user(['add', 'Zed Z', '--legacy-login', '--password-stdin', '--data-dir', dir], 'secret99');
  await user(['add', 'amy', '--password-stdin', '--data-dir', dir], 'secret99');
  const table = await user(['list', '--data-dir', dir]);
  assert.equal(table.code, 0);
  const lines = table.out.trim().split('\n');
  assert.match(lines[0] ?? '', /^SCREEN NAME\s+CREATED\s+LEGACY LOGIN\s+STATUS$/);
  assert.match(lines[1] ?? '', /^amy\s+\d{4}-\d\d-\d\d\s+no\s+active$/);
  assert.match(lines[2] ?? '', /^Zed Z\s+\d{4}-\d\d-\d\d\s+yes\s+active$/);
  const json = JSON.parse((await user(['list', '--json', '--data-dir', dir])).out) as { screenName: string; legacyLogin: boolean }[];
  assert.deepEqual(json.map((a) => [a.screenName, a.legacyLogin]), [['amy', false], ['Zed Z', true]]);
});

test('passwd replaces hash and verifier and can switch legacy login off and on', async () => {
  const dir = newDir();
  await user(['add', 'dave', '--legacy-login', '--password-stdin', '--data-dir', dir], 'oldpass1');
  const before = await account(dir, 'dave');
  assert.equal((await user(['passwd', 'DAVE', '--password-stdin', '--data-dir', dir], 'newpass2')).code, 0);
  const a = await account(dir, 'dave');
  assert.ok(a?.legacyVerifier && before?.legacyVerifier);
  assert.equal(await verifyPassword('oldpass1', a.passwordHash), false);
  assert.equal(await verifyPassword('newpass2', a.passwordHash), true);
  assert.notDeepEqual(a.legacyVerifier.md5Password, before.legacyVerifier.md5Password, 'the old password stops working');
  assert.equal(checkLegacyLogin(a.legacyVerifier, 'k', aimMd5Strong('k', 'newpass2'), true), true);
  assert.equal(checkLegacyLogin(a.legacyVerifier, 'k', aimMd5Strong('k', 'oldpass1'), true), false);

  assert.equal((await user(['passwd', 'dave', '--no-legacy-login', '--password-stdin', '--data-dir', dir], 'newpass3')).code, 0);
  assert.equal((await account(dir, 'dave'))?.legacyVerifier, null);
  assert.equal((await user(['passwd', 'dave', '--legacy-login', '--password-stdin', '--data-dir', dir], 'newpass4')).code, 0);
  assert.equal((await account(dir, 'dave'))?.legacyLoginEnabled, true);

  const missing = await user(['passwd', 'nobody', '--password-stdin', '--data-dir', dir], 'newpass5');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no account/);
});

test('remove deletes; removing again fails', async () => {
  const dir = newDir();
  await user(['add', 'erin', '--password-stdin', '--data-dir', dir], 'secret99');
  assert.equal((await user(['remove', 'Erin', '--data-dir', dir])).code, 0);
  assert.equal(await account(dir, 'erin'), null);
  const again = await user(['remove', 'erin', '--data-dir', dir]);
  assert.equal(again.code, 1);
  assert.match(again.err, /no account "erin"/);
});

test('password input errors: no terminal, too short', async () => {
  const dir = newDir();
  const noTty = await user(['add', 'fred', '--data-dir', dir]);
  assert.equal(noTty.code, 2);
  assert.match(noTty.err, /--password-stdin/);
  const short = await user(['add', 'fred', '--password-stdin', '--data-dir', dir], 'abc');
  assert.equal(short.code, 2);
  assert.match(short.err, /at least 6/);
  assert.equal(await account(dir, 'fred'), null);
});

test('--db overrides --data-dir; usage errors exit 2', async () => {
  const dir = newDir();
  const other = newDir();
  assert.equal((await user(['add', 'gina', '--password-stdin', '--data-dir', dir, '--db', `sqlite:${join(other, 'x.db')}`], 'secret99')).code, 0);
  assert.equal(existsSync(join(dir, 'certim.db')), false);
  const store = await openStore(`sqlite:${join(other, 'x.db')}`);
  assert.notEqual(await store.accounts.get('gina'), null);
  await store.close();
  assert.equal((await user(['frobnicate'])).code, 2);
  assert.equal((await user(['list', '--bogus', '--data-dir', dir])).code, 2);
  assert.equal((await user(['remove', '--data-dir', dir])).code, 2);
  assert.equal((await user(['add', 'x y z', '--db'])).code, 2);
  assert.equal(await runAdmin(['nonsense']), 2);
});
