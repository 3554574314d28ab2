/**
 * Name constraints (RFC 5280 §4.2.1.10, applied as in §6.1.3 (b)–(c)): a CA certificate's permitted and excluded
 * subtrees restrict the names of every certificate below it. Enforced whether the extension is critical or not,
 * for these forms:
 *
 * - dNSName: "example.org" matches the host and every subdomain; ".example.org" only subdomains; "" matches all.
 *   A leaf without SAN dNSNames whose CN looks like a host name is checked by its CN (what OpenSSL does).
 * - rfc822Name: "alice@example.org" is that mailbox; "example.org" any mailbox on that host; ".example.org" any
 *   mailbox on a subdomain. Applies to SAN rfc822Names and to emailAddress attributes in the subject.
 * - uniformResourceIdentifier: the constraint is a host ("example.org": that host; ".example.org": subdomains).
 *   The host of `scheme://[user@]host[:port]/…` is the authority's host. For certim's `im:` URIs
 *   (`im:alice@example.org`, RFC 3860) the host is the part after the "@", matched like an email domain — so a
 *   CA constrained to `example.org` may issue `im:…@example.org` identities only. A URI without a host (including
 *   an `im:` URI with no "@" or more than one) fails any permitted URI subtree.
 * - iPAddress: address/mask, same address family only.
 * - directoryName: the constraint's RDNs must be a prefix of the name's RDNs (values compared case-insensitively
 *   with runs of spaces folded, RFC 5280 §7.1); applied to a non-empty subject and to SAN directoryNames.
 *
 * Other forms (otherName, x400Address, ediPartyName, registeredID) are not interpreted: a certificate that carries a
 * name of such a form under a constraint of that form is refused (UNSUPPORTED_NAME_CONSTRAINT), as RFC 5280 allows.
 */
import { toHex } from '../wire/bytes.js';
import { children, parseAsn1, readOid, readString, seqOf } from './asn1/der.js';
import { OID } from './oids.js';
import { ipAddressBytes, type GeneralSubtree, type NameConstraints, type SubtreeForm } from './extensions.js';
import { formatName } from './name.js';
import type { Certificate } from './x509-parse.js';

/** Why a certificate's names fall outside a CA's constraints. */
export interface NameConstraintFailure {
  /** NAME_CONSTRAINTS_VIOLATION, or UNSUPPORTED_NAME_CONSTRAINT for a form we do not interpret. */
  code: 'NAME_CONSTRAINTS_VIOLATION' | 'UNSUPPORTED_NAME_CONSTRAINT';
  /** Human-readable explanation. */
  reason: string;
}

interface Names {
  email: string[];
  dns: string[];
  uri: string[];
  ip: Uint8Array[];
  dir: Uint8Array[];
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))+\.?$/i;

function namesOf(cert: Certificate, isLeaf: boolean): Names {
  const san = cert.subjectAltName;
  const dns = [...san.dns];
  if (dns.length === 0 && isLeaf && cert.subjectCN !== undefined && HOSTNAME.test(cert.subjectCN)) dns.push(cert.subjectCN);
  const emails = [...san.emails];
  for (const a of cert.subject.attributes) if (a.oid === OID.emailAddress) emails.push(a.value);
  const dir = [...(san.directoryNames ?? [])];
  if (cert.subject.attributes.length > 0) dir.push(cert.subject.der);
  const ip: Uint8Array[] = [];
  for (const t of san.ips) {
    try {
      ip.push(ipAddressBytes(t));
    } catch {
      ip.push(new Uint8Array(0)); // an address of odd length matches no constraint
    }
  }
  return { email: emails, dns, uri: [...san.uris], ip, dir };
}

function dnsMatch(name: string, c: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const k = c.toLowerCase().replace(/\.$/, '');
  if (k === '') return true;
  if (k.startsWith('.')) return n.endsWith(k);
  return n === k || n.endsWith(`.${k}`);
}

function hostMatch(host: string, c: string): boolean {
  const h = host.toLowerCase();
  const k = c.toLowerCase();
  return k.startsWith('.') ? h.endsWith(k) : h === k;
}

function emailMatch(addr: string, c: string): boolean {
  const at = addr.lastIndexOf('@');
  if (at < 0) return false;
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  const cat = c.lastIndexOf('@');
  if (cat >= 0) return local === c.slice(0, cat) && domain.toLowerCase() === c.slice(cat + 1).toLowerCase();
  return hostMatch(domain, c);
}

/** The host a URI constraint is matched against (see the module comment); undefined when it has none. */
export function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  if (m) return m[1] === '' ? undefined : m[1];
  const im = /^im:[^@]+@([^@/?#]+)$/i.exec(uri);
  return im ? im[1] : undefined;
}

function uriMatch(uri: string, c: string): boolean {
  const h = uriHost(uri);
  return h !== undefined && hostMatch(h, c);
}

function ipMatch(ip: Uint8Array, c: Uint8Array): boolean {
  if (c.length !== ip.length * 2) return false;
  for (let i = 0; i < ip.length; i++) {
    const mask = c[ip.length + i]!;
    if ((ip[i]! & mask) !== (c[i]! & mask)) return false;
  }
  return true;
}

function rdnKeys(nameDer: Uint8Array): string[] {
  return seqOf(parseAsn1(nameDer), 'Name').map((rdn) =>
    children(rdn).map((atv) => {
      const [t, v] = seqOf(atv, 'AttributeTypeAndValue', 2);
      let value: string;
      try {
        value = readString(v!).trim().replace(/\s+/g, ' ').toLowerCase();
      } catch {
        value = `#${toHex(v!.buf.subarray(v!.start, v!.end))}`;
      }
      return `${readOid(t!)}=${value}`;
    }).sort().join('+'));
}

function dirMatch(nameDer: Uint8Array, c: Uint8Array): boolean {
  const n = rdnKeys(nameDer);
  const k = rdnKeys(c);
  return k.length <= n.length && k.every((r, i) => r === n[i]);
}

function matches(form: SubtreeForm, name: string | Uint8Array, st: GeneralSubtree): boolean {
  switch (form) {
    case 'dns': return dnsMatch(name as string, st.text);
    case 'email': return emailMatch(name as string, st.text);
    case 'uri': return uriMatch(name as string, st.text);
    case 'ip': return ipMatch(name as Uint8Array, st.bytes);
    case 'dir': return dirMatch(name as Uint8Array, st.bytes);
    default: return false;
  }
}

function show(form: SubtreeForm, name: string | Uint8Array): string {
  if (typeof name === 'string') return `"${name}"`;
  if (form === 'dir') {
    try {
      return `"${formatName({ der: name, attributes: [] }) || rdnKeys(name).join(', ')}"`;
    } catch {
      return 'a directory name';
    }
  }
  return `address ${Array.from(name).join('.')}`;
}

const FORMS: readonly Exclude<SubtreeForm, 'other'>[] = ['dns', 'email', 'uri', 'ip', 'dir'];
const FORM_LABEL: Record<SubtreeForm, string> = { dns: 'DNS name', email: 'email address', uri: 'URI', ip: 'IP address', dir: 'directory name', other: 'name' };

/**
 * Checks `cert`'s names against one CA's constraints. `isLeaf`: the end-entity certificate (its CN may stand in for a
 * DNS name). Returns undefined when every name is inside the permitted and outside the excluded subtrees.
 */
export function checkNameConstraints(cert: Certificate, nc: NameConstraints, isLeaf: boolean): NameConstraintFailure | undefined {
  const names = namesOf(cert, isLeaf);
  for (const form of FORMS) {
    const list: (string | Uint8Array)[] = names[form];
    if (list.length === 0) continue;
    const permitted = nc.permitted.filter((s) => s.form === form);
    const excluded = nc.excluded.filter((s) => s.form === form);
    for (const name of list) {
      if (permitted.length && !permitted.some((s) => matches(form, name, s))) {
        return { code: 'NAME_CONSTRAINTS_VIOLATION', reason: `${FORM_LABEL[form]} ${show(form, name)} is outside the CA's permitted names` };
      }
      if (excluded.some((s) => matches(form, name, s))) {
        return { code: 'NAME_CONSTRAINTS_VIOLATION', reason: `${FORM_LABEL[form]} ${show(form, name)} is in the CA's excluded names` };
      }
    }
  }
  const used = new Set(cert.subjectAltName.otherForms ?? []);
  const other = [...nc.permitted, ...nc.excluded].find((s) => s.form === 'other' && used.has(s.tag));
  if (other) {
    return { code: 'UNSUPPORTED_NAME_CONSTRAINT', reason: `the CA constrains GeneralName form [${other.tag}], which certim does not interpret, and the certificate uses it` };
  }
  return undefined;
}

