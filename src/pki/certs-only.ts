/**
 * The "certs-only" PKCS#7 / CMS SignedData (RFC 5652 §5, RFC 7030 §4.1.3): a degenerate SignedData with no signers
 * that just carries certificates. EST uses it for /cacerts and for the enrollment response; `openssl pkcs7
 * -print_certs` reads it. (Full CMS messages live in src/pki/cms/, owned separately.)
 */
import { der, parseAsn1, parseAt, seqOf, children, rawOf, readOid, ctxTag, Asn1Error } from './asn1/der.js';
import { OID } from './oids.js';
import { PkiError } from './errors.js';

/**
 * ContentInfo { signedData, [0] EXPLICIT SignedData { version 1, digestAlgorithms {}, encapContentInfo { id-data },
 * certificates [0] IMPLICIT SET OF Certificate, signerInfos {} } }
 */
export function encodeCertsOnly(certs: readonly Uint8Array[]): Uint8Array {
  const signedData = der.seq(
    der.int(1),
    der.setOf(),
    der.seq(der.oid(OID.data)),
    der.retag(der.setOf(...certs), ctxTag(0, true)),
    der.setOf(),
  );
  return der.seq(der.oid(OID.signedData), der.explicit(0, signedData));
}

/** Extracts the certificates (DER) from a certs-only (or any) SignedData ContentInfo, DER or BER. */
export function decodeCertsOnly(bytes: Uint8Array): Uint8Array[] {
  try {
    const [typeN, contentN] = seqOf(parseAsn1(bytes, { ber: true }), 'ContentInfo', 2);
    if (readOid(typeN!) !== OID.signedData) throw new PkiError('MALFORMED', 'ContentInfo is not SignedData');
    const sd = parseAt(contentN!.buf, contentN!.contentStart, contentN!.contentEnd, { ber: true }, contentN!.depth + 1);
    const out: Uint8Array[] = [];
    for (const k of seqOf(sd, 'SignedData', 4)) {
      if (k.tag === ctxTag(0, true)) for (const c of children(k)) out.push(rawOf(c));
    }
    return out;
  } catch (e) {
    if (Asn1Error.is(e)) throw new PkiError('MALFORMED', `malformed PKCS#7: ${e.message}`, { cause: e });
    throw e;
  }
}
