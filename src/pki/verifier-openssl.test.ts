/**
 * The verifier against OpenSSL as the independent reference: every chain below is made with `openssl` commands, and
 * for each defect class the chain OpenSSL refuses is refused by certim with the matching stable code. Where certim is
 * deliberately stricter than OpenSSL 3.0 (RFC 5280 MUSTs OpenSSL does not enforce) or interprets a name form
 * OpenSSL cannot (`im:` URIs), the test says so and checks OpenSSL's verdict too, so a change on either side shows.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { sign as nodeSign } from 'node:crypto';
import { der, parseAsn1, seqOf, rawOf, tlv, toPem, TAG } from './asn1/der.js';
import { encodeExtension } from './extensions.js';
import { OID } from './oids.js';
import { parseCrl } from './crl.js';
import { serialHex } from './x509-parse.js';
import { verifyCertificate, type VerifyOptions, type VerifyResult } from './verifier.js';
import type { VerifyPurpose } from './profiles.js';
import { makeOpensslPki, crlDer, type MadeCert, type OpensslPki } from './openssl.test-support.js';

let P: OpensslPki;
let root: MadeCert;
let inter: MadeCert;
let leaf: MadeCert;
let leafKey: string;

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid:always'];
const SIGN_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation', 'extendedKeyUsage=emailProtection', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
const TLS_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'];
const OSSL_PURPOSE: Record<VerifyPurpose, string> = { sign: 'smimesign', encrypt: 'smimeencrypt', 'tls-server': 'sslserver', 'tls-client': 'sslclient' };

before(() => {
  P = makeOpensslPki('certim-vo-');
  root = P.issue('root', { subj: '/O=certim-test/CN=Root', ext: CA_EXT, days: 3650 });
  inter = P.issue('inter', { subj: '/O=certim-test/CN=Issuing', issuer: root, ext: CA_EXT, days: 1000 });
  leafKey = P.key('leaf');
  leaf = P.issue('leaf', { subj: '/CN=bob', issuer: inter, keyFile: leafKey, ext: [...SIGN_EXT, 'subjectAltName=URI:im:bob@example.org'] });
});

interface Case {
  /** Anchors (default root). */
  trusted?: MadeCert[];
  /** Intermediates (default [inter]). */
  untrusted?: MadeCert[];
  /** CRL files. */
  crls?: string[];
  purpose?: VerifyPurpose;
  screenName?: string;
  hostname?: string;
  /** Extra `openssl verify` flags for the reference (e.g. -auth_level 2). */
  flags?: string[];
  /** certim options on top. */
  certim?: Partial<VerifyOptions>;
}

/** Runs both; returns [opensslOk, opensslOutput, certimResult]. */
async function run(c: MadeCert, k: Case): Promise<[boolean, string, VerifyResult]> {
  const purpose = k.purpose ?? 'sign';
  const trusted = k.trusted ?? [root];
  const untrusted = k.untrusted ?? [inter];
  const o = P.verify(c, { trusted, untrusted, ...(k.crls ? { crls: k.crls } : {}), purpose: OSSL_PURPOSE[purpose], flags: ['-x509_strict', ...(k.flags ?? [])] });
  const r = await verifyCertificate(c.der, {
    purpose, trustAnchors: trusted.map((t) => t.der), intermediates: untrusted.map((t) => t.der),
    ...(purpose === 'tls-server' ? { hostname: k.hostname } : { screenName: k.screenName ?? 'bob' }),
    ...(k.crls ? { crls: k.crls.map(crlDer), requireRevocationInfo: true } : {}),
    ...k.certim,
  });
  return [o.ok, o.out, r];
}

/** Both accept. */
async function bothAccept(c: MadeCert, k: Case = {}): Promise<VerifyResult> {
  const [ok, out, r] = await run(c, k);
  assert.ok(ok, `openssl should accept ${c.name}: ${out}`);
  assert.ok(r.ok, `certim should accept ${c.name}: ${r.ok ? '' : `${r.code} ${r.reason}`}`);
  return r;
}

/** OpenSSL refuses (its message matching `ossl`) and certim refuses with `code`. */
async function bothRefuse(c: MadeCert, k: Case, ossl: RegExp, code: string): Promise<VerifyResult> {
  const [ok, out, r] = await run(c, k);
  assert.ok(!ok, `openssl should refuse ${c.name}`);
  assert.match(out, ossl, `openssl's reason for ${c.name}`);
  assert.equal(r.ok ? 'ok' : r.code, code, `certim on ${c.name}: ${r.ok ? 'accepted' : r.reason}`);
  return r;
}

test('baseline: an openssl-made root -> issuing -> leaf chain passes both', async () => {
  const r = await bothAccept(leaf);
  assert.equal(r.ok && r.chain.length, 3);
});

test('name constraints, DNS: critical and non-critical both enforced; excluded subtrees', async () => {
  const mk = (n: string, nc: string): MadeCert => P.issue(n, { subj: `/O=certim-test/CN=${n}`, issuer: root, ext: [...CA_EXT, `nameConstraints=${nc}`] });
  const crit = mk('nc-crit', 'critical,permitted;DNS:example.org');
  const non = mk('nc-non', 'permitted;DNS:example.org');
  const excl = mk('nc-excl', 'critical,permitted;DNS:example.org,excluded;DNS:bad.example.org');
  const tls = (n: string, ca: MadeCert, dns: string): MadeCert => P.issue(n, { subj: '/CN=server', issuer: ca, keyFile: leafKey, ext: [...TLS_EXT, `subjectAltName=DNS:${dns}`] });
  const k = (ca: MadeCert, host: string): Case => ({ purpose: 'tls-server', hostname: host, untrusted: [ca] });
  await bothAccept(tls('dns-ok', crit, 'host.example.org'), k(crit, 'host.example.org'));
  await bothAccept(tls('dns-ok-non', non, 'example.org'), k(non, 'example.org'));
  await bothRefuse(tls('dns-evil', crit, 'evil.com'), k(crit, 'evil.com'), /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(tls('dns-evil-non', non, 'evil.com'), k(non, 'evil.com'), /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(tls('dns-suffix', crit, 'notexample.org'), k(crit, 'notexample.org'), /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(tls('dns-excl', excl, 'x.bad.example.org'), k(excl, 'x.bad.example.org'), /excluded subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
});

test('name constraints, iPAddress; a constrained name form certim does not interpret', async () => {
  const ipCa = P.issue('nc-ip', { subj: '/O=certim-test/CN=IP CA', issuer: root, ext: [...CA_EXT, 'nameConstraints=critical,permitted;IP:192.168.0.0/255.255.0.0'] });
  const tls = (n: string, ip: string): MadeCert => P.issue(n, { subj: '/CN=server', issuer: ipCa, keyFile: leafKey, ext: [...TLS_EXT, `subjectAltName=IP:${ip}`] });
  await bothAccept(tls('ip-ok', '192.168.1.1'), { purpose: 'tls-server', hostname: '192.168.1.1', untrusted: [ipCa] });
  await bothRefuse(tls('ip-evil', '10.0.0.1'), { purpose: 'tls-server', hostname: '10.0.0.1', untrusted: [ipCa] }, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  const otherCa = P.issue('nc-other', { subj: '/O=certim-test/CN=Other CA', issuer: root, ext: [...CA_EXT, 'nameConstraints=critical,permitted;otherName:1.3.6.1.4.1.99999.1;UTF8:x'] });
  const withOther = P.issue('other-leaf', { subj: '/CN=bob', issuer: otherCa, keyFile: leafKey, ext: [...SIGN_EXT, 'subjectAltName=otherName:1.3.6.1.4.1.99999.1;UTF8:y'] });
  await bothRefuse(withOther, { untrusted: [otherCa] }, /unsupported|not supported|constraint/i, 'UNSUPPORTED_NAME_CONSTRAINT');
  const without = P.issue('other-none', { subj: '/CN=bob', issuer: otherCa, keyFile: leafKey, ext: [...SIGN_EXT, 'subjectAltName=URI:im:bob@example.org'] });
  await bothAccept(without, { untrusted: [otherCa] });
});

test('name constraints, email: SAN rfc822Name and the subject emailAddress', async () => {
  const ca = P.issue('nc-mail', { subj: '/O=certim-test/CN=Mail CA', issuer: root, ext: [...CA_EXT, 'nameConstraints=critical,permitted;email:example.org'] });
  const k: Case = { untrusted: [ca] };
  const mk = (n: string, subj: string, san: string): MadeCert => P.issue(n, { subj, issuer: ca, keyFile: leafKey, ext: [...SIGN_EXT, `subjectAltName=${san}`] });
  await bothAccept(mk('mail-ok', '/CN=bob', 'email:bob@example.org'), k);
  await bothRefuse(mk('mail-evil', '/CN=bob', 'email:bob@evil.com'), k, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(mk('mail-dn', '/CN=bob/emailAddress=bob@evil.com', 'URI:https://example.org/bob'), k, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
});

test('name constraints, directoryName: the subject must lie under a permitted DN', async () => {
  const ca = P.issue('nc-dir', {
    subj: '/O=certim-test/CN=Dir CA', issuer: root, ext: [...CA_EXT, 'nameConstraints=critical,permitted;dirName:dir_sect'],
    sections: '[dir_sect]\nO=Good\n',
  });
  const k: Case = { untrusted: [ca] };
  const mk = (n: string, subj: string): MadeCert => P.issue(n, { subj, issuer: ca, keyFile: leafKey, ext: SIGN_EXT });
  await bothAccept(mk('dir-ok', '/O=Good/CN=bob'), k);
  await bothRefuse(mk('dir-evil', '/O=Evil/CN=bob'), k, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
});

test('name constraints, URI and im: URIs (host after "@", like an email domain)', async () => {
  const ca = P.issue('nc-uri', { subj: '/O=certim-test/CN=URI CA', issuer: root, ext: [...CA_EXT, 'nameConstraints=critical,permitted;URI:example.org'] });
  const k: Case = { untrusted: [ca] };
  const mk = (n: string, san: string): MadeCert => P.issue(n, { subj: '/CN=bob', issuer: ca, keyFile: leafKey, ext: [...SIGN_EXT, `subjectAltName=${san}`] });
  await bothAccept(mk('uri-ok', 'URI:https://example.org/bob'), k);
  await bothRefuse(mk('uri-sub', 'URI:https://www.example.org/bob'), k, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(mk('uri-evil', 'URI:https://evil.org/bob'), k, /permitted subtree violation/, 'NAME_CONSTRAINTS_VIOLATION');
  await bothRefuse(mk('im-evil', 'URI:im:bob@evil.org'), k, /unsupported or invalid name syntax/, 'NAME_CONSTRAINTS_VIOLATION');
  // OpenSSL 3.0 cannot read a host from a URI without "//" and refuses; certim applies its documented im: rule.
  const [ok, out, r] = await run(mk('im-ok', 'URI:im:bob@example.org'), k);
  assert.ok(!ok && /unsupported or invalid name syntax/.test(out), out);
  assert.ok(r.ok, r.ok ? '' : r.reason);
});

test('pathLen: self-issued intermediates are not counted (RFC 5280 §4.2.1.9); others are', async () => {
  const root0 = P.issue('root0', { subj: '/O=certim-test/CN=Root0', ext: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid:always'], days: 3650 });
  const rollover = P.issue('rollover', { subj: '/O=certim-test/CN=Root0', issuer: root0, ext: CA_EXT });
  const viaRollover = P.issue('leaf-rollover', { subj: '/CN=bob', issuer: rollover, keyFile: leafKey, ext: SIGN_EXT });
  const r = await bothAccept(viaRollover, { trusted: [root0], untrusted: [rollover] });
  assert.equal(r.ok && r.chain.length, 3);
  const inter0 = P.issue('inter0', { subj: '/O=certim-test/CN=Inter0', issuer: root0, ext: CA_EXT });
  const tooDeep = P.issue('leaf-deep', { subj: '/CN=bob', issuer: inter0, keyFile: leafKey, ext: SIGN_EXT });
  await bothRefuse(tooDeep, { trusted: [root0], untrusted: [inter0] }, /path length constraint exceeded/, 'PATH_LENGTH_EXCEEDED');
});

test('path building backtracks: a same-name, same-key intermediate from an untrusted root is tried first, then the good one', async () => {
  const foreign = P.issue('foreign', { subj: '/O=elsewhere/CN=Foreign Root', ext: CA_EXT, days: 3650 });
  const twin = P.issue('inter-twin', { subj: '/O=certim-test/CN=Issuing', issuer: foreign, keyFile: inter.key, ext: CA_EXT });
  // The good path exists (OpenSSL confirms it with the good intermediate alone). OpenSSL 3.0 itself does not
  // backtrack past the twin ("unable to get local issuer certificate"); RFC 5280 path building must.
  await bothAccept(leaf, { untrusted: [inter] });
  const [osslWithTwin, , r] = await run(leaf, { untrusted: [twin, inter] });
  assert.equal(osslWithTwin, false);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.chain[1]!.fingerprint256, inter.cert().fingerprint256);
  // A twin under the trusted root whose key did not sign the leaf is skipped the same way (OpenSSL agrees here).
  const wrongKey = P.issue('inter-wrongkey', { subj: '/O=certim-test/CN=Issuing', issuer: root, ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'] });
  await bothAccept(leaf, { untrusted: [wrongKey, inter] });
});

test('EKU of intermediates: a CA limited to serverAuth cannot vouch for a signing certificate', async () => {
  const tlsOnly = P.issue('inter-tls', { subj: '/O=certim-test/CN=TLS CA', issuer: root, ext: [...CA_EXT, 'extendedKeyUsage=serverAuth'] });
  const mailOk = P.issue('inter-mail', { subj: '/O=certim-test/CN=Mail EKU CA', issuer: root, ext: [...CA_EXT, 'extendedKeyUsage=emailProtection'] });
  const a = P.issue('leaf-under-tls', { subj: '/CN=bob', issuer: tlsOnly, keyFile: leafKey, ext: SIGN_EXT });
  const b = P.issue('leaf-under-mail', { subj: '/CN=bob', issuer: mailOk, keyFile: leafKey, ext: SIGN_EXT });
  await bothRefuse(a, { untrusted: [tlsOnly] }, /unsuitable certificate purpose/, 'WRONG_KEY_USAGE');
  await bothAccept(b, { untrusted: [mailOk] });
});

test('weak EC keys: P-192 and explicit curve parameters are WEAK_KEY', async () => {
  const p192 = P.issue('leaf-p192', { subj: '/CN=bob', issuer: inter, keyFile: P.key('p192', 'P-192'), ext: SIGN_EXT });
  await bothRefuse(p192, { flags: ['-auth_level', '2'] }, /key too weak/, 'WEAK_KEY');
  const explicit = P.issue('leaf-explicit', { subj: '/CN=bob', issuer: inter, keyFile: P.key('explicit', 'P-256-explicit'), ext: SIGN_EXT });
  await bothRefuse(explicit, {}, /explicit/i, 'WEAK_KEY');
});

test('CRLs: revoked, stale (distinct code; grace period), not yet valid, no cRLSign, forged', async () => {
  const revokedLeaf = P.issue('leaf-revoked', { subj: '/CN=bob', issuer: inter, keyFile: leafKey, ext: SIGN_EXT });
  const rootCrl = P.crl('root', root);
  const good = P.crl('good', inter, { revoke: [revokedLeaf] });
  await bothAccept(leaf, { crls: [good, rootCrl] });
  const rv = await bothRefuse(revokedLeaf, { crls: [good, rootCrl] }, /certificate revoked/, 'REVOKED');
  assert.match(rv.ok ? '' : rv.reason, /keyCompromise/);

  // The issuing CA revoked on the root's CRL: the whole chain is checked (openssl -crl_check_all).
  const rootRevokesInter = P.crl('root-rev', root, { revoke: [inter] });
  await bothRefuse(leaf, { crls: [good, rootRevokesInter], flags: ['-crl_check_all'] }, /certificate revoked/, 'REVOKED');

  const stale = P.crl('stale', inter, { lastUpdate: '20200101000000Z', nextUpdate: '20200102000000Z' });
  await bothRefuse(leaf, { crls: [stale, rootCrl] }, /CRL has expired/, 'REVOCATION_STALE');
  const graced = await verifyCertificate(leaf.der, {
    purpose: 'sign', screenName: 'bob', trustAnchors: [root.der], intermediates: [inter.der], crls: [crlDer(stale), crlDer(rootCrl)],
    requireRevocationInfo: true, crlGracePeriodMs: 100 * 365 * 86_400_000,
  });
  assert.ok(graced.ok && graced.revocation?.[0]?.crlState === 'stale', 'inside the grace period the stale CRL covers, flagged');
  // A stale CRL still proves a revocation.
  const staleRevoked = P.crl('stale-rev', inter, { revoke: [revokedLeaf], lastUpdate: '20200101000000Z', nextUpdate: '20200102000000Z' });
  const sr = await verifyCertificate(revokedLeaf.der, { purpose: 'sign', screenName: 'bob', trustAnchors: [root.der], intermediates: [inter.der], crls: [crlDer(staleRevoked)] });
  assert.equal(sr.ok ? 'ok' : sr.code, 'REVOKED');

  const future = P.crl('future', inter, { lastUpdate: '20990101000000Z', nextUpdate: '20990102000000Z' });
  const fr = await bothRefuse(leaf, { crls: [future, rootCrl] }, /CRL is not yet valid/, 'REVOCATION_UNKNOWN');
  assert.ok(!fr.ok && fr.crlProblems?.some((p) => p.code === 'CRL_NOT_YET_VALID'));

  const noCrlSign = P.issue('inter-nocrlsign', { subj: '/O=certim-test/CN=No CRL Sign', issuer: root, ext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid:always'] });
  const leafN = P.issue('leaf-nocrlsign', { subj: '/CN=bob', issuer: noCrlSign, keyFile: leafKey, ext: SIGN_EXT });
  const nr = await bothRefuse(leafN, { untrusted: [noCrlSign], crls: [P.crl('nocrlsign', noCrlSign), rootCrl] }, /CRL sign|CRL signing/i, 'REVOCATION_UNKNOWN');
  assert.ok(!nr.ok && nr.crlProblems?.some((p) => p.code === 'CRL_ISSUER_NOT_AUTHORIZED'));

  const impostor = P.issue('impostor', { subj: '/O=certim-test/CN=Issuing', ext: CA_EXT });
  const forged = P.crl('forged', impostor, { revoke: [] });
  const fo = await bothRefuse(leaf, { crls: [forged, rootCrl] }, /CRL/, 'REVOCATION_UNKNOWN');
  assert.ok(!fo.ok && fo.crlProblems?.some((p) => p.code === 'CRL_BAD_SIGNATURE' || p.code === 'CRL_WRONG_ISSUER'));
});

test('cRLNumber (RFC 5280 §5.2.3): critical is refused by both; missing is refused by certim (OpenSSL 3.0 takes it)', async () => {
  const rootCrl = P.crl('root2', root);
  const noNumber = P.crl('nonumber', inter, { crlNumber: false });
  const [ok, , r] = await run(leaf, { crls: [noNumber, rootCrl] });
  assert.ok(ok, 'OpenSSL accepts a CRL without cRLNumber');
  assert.ok(!r.ok && r.code === 'REVOCATION_UNKNOWN' && r.crlProblems?.some((p) => p.code === 'CRL_NUMBER_MISSING'));
  // Critical cRLNumber: openssl ca cannot write one, so certim's DER writer builds it and inter's key signs it.
  const alg = der.seq(der.oid(OID.ecdsaWithSHA256));
  const now = Date.now();
  const tbs = der.seq(der.int(1), alg, inter.cert().subject.der, der.time(new Date(now - 60_000)), der.time(new Date(now + 86_400_000)),
    der.explicit(0, der.seq(encodeExtension(OID.cRLNumber, true, der.int(7)))));
  const crl = der.seq(tbs, alg, der.bitString(nodeSign('sha256', tbs, inter.privateKey())));
  const critF = P.file('critical.crl', toPem('X509 CRL', crl));
  const r2 = await bothRefuse(leaf, { crls: [critF, rootCrl] }, /unhandled critical CRL extension/, 'REVOCATION_UNKNOWN');
  assert.ok(!r2.ok && r2.crlProblems?.some((p) => p.code === 'CRL_NUMBER_CRITICAL'));
  assert.equal(parseCrl(crl).crlNumberCritical, true);
});

/** Rebuilds the leaf with one TBSCertificate element replaced (or appended) and re-signs it with inter's key. */
function resigned(name: string, edit: (kids: Uint8Array[]) => Uint8Array[]): MadeCert {
  const [tbsN, algN] = seqOf(parseAsn1(leaf.der), 'Certificate', 3);
  const kids = seqOf(tbsN, 'TBSCertificate').map((k) => rawOf(k));
  const tbs = der.seq(...edit(kids));
  const out = der.seq(tbs, rawOf(algN!), der.bitString(nodeSign('sha256', tbs, inter.privateKey())));
  const pem = P.file(`${name}.pem`, toPem('CERTIFICATE', out));
  return { ...leaf, name, pem, der: out };
}

const utc = (s: string): Uint8Array => tlv(TAG.UTC_TIME, Buffer.from(s, 'latin1'));

test('strict DER and impossible times: properly signed but mis-encoded certificates are MALFORMED', async () => {
  const serialAt = 1; // [0] version, serialNumber, ...
  const validityAt = 4;
  const cases: [string, (k: Uint8Array[]) => Uint8Array[]][] = [
    ['serial-nonminimal', (k) => k.map((x, i) => (i === serialAt ? tlv(TAG.INTEGER, Uint8Array.of(0, ...x.subarray(2))) : x))],
    ['serial-empty', (k) => k.map((x, i) => (i === serialAt ? Uint8Array.of(TAG.INTEGER, 0) : x))],
    ['tbs-extra-field', (k) => [...k, der.int(5)]],
    ['version-enumerated', (k) => k.map((x, i) => (i === 0 ? der.explicit(0, der.enumerated(2)) : x))],
    ['version-explicit-v1', (k) => k.map((x, i) => (i === 0 ? der.explicit(0, der.int(0)) : x))],
    ['feb-30', (k) => k.map((x, i) => (i === validityAt ? der.seq(utc('260101000000Z'), utc('260230120000Z')) : x))],
    ['second-60', (k) => k.map((x, i) => (i === validityAt ? der.seq(utc('260101000000Z'), utc('261231235960Z')) : x))],
    ['hour-24', (k) => k.map((x, i) => (i === validityAt ? der.seq(utc('260101000000Z'), utc('261231240000Z')) : x))],
  ];
  for (const [name, edit] of cases) await bothRefuse(resigned(name, edit), {}, /./, 'MALFORMED');
  // Bytes appended inside the outer SEQUENCE (outside the signature): same serial and key, new fingerprint.
  const [tbsN, algN, sigN] = seqOf(parseAsn1(leaf.der), 'Certificate', 3);
  const appended = der.seq(rawOf(tbsN!), rawOf(algN!), rawOf(sigN!), Uint8Array.of(0x05, 0x00));
  await bothRefuse({ ...leaf, name: 'appended', pem: P.file('appended.pem', toPem('CERTIFICATE', appended)), der: appended }, {}, /./, 'MALFORMED');
  // Outer signatureAlgorithm re-encoded (absent -> NULL parameters): unsigned, so it would be a second encoding.
  const reAlg = der.seq(rawOf(tbsN!), der.seq(der.oid(OID.ecdsaWithSHA256), der.null()), rawOf(sigN!));
  await bothRefuse({ ...leaf, name: 'realg', pem: P.file('realg.pem', toPem('CERTIFICATE', reAlg)), der: reAlg }, {}, /./, 'MALFORMED');
});

test('a negative serial is refused, and never maps to the hex of its positive twin', async () => {
  const neg = resigned('serial-negative', (k) => k.map((x, i) => (i === 1 ? der.int(-0x1001n) : x)));
  const [, , r] = await run(neg, {});
  assert.equal(r.ok ? 'ok' : r.code, 'MALFORMED'); // RFC 5280 §4.1.2.2: positive
  assert.notEqual(serialHex(parseAsn1(der.int(-255n))), serialHex(parseAsn1(der.int(255n))));
  assert.equal(serialHex(parseAsn1(der.int(-255n))), '-ff');
  assert.equal(serialHex(parseAsn1(der.int(255n))), 'ff');
});
