//! The few DER shapes the keys need, read and written by hand: TLV reading with a bounded
//! length, and writing of SEQUENCE, INTEGER, OCTET STRING and BIT STRING.

use super::SigError;

/// DER tag of a SEQUENCE.
pub(crate) const SEQUENCE: u8 = 0x30;
/// DER tag of an INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// DER tag of a BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// DER tag of an OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// DER tag of NULL.
pub(crate) const NULL: u8 = 0x05;
/// DER tag of an OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;
/// Contents of the rsaEncryption OID, 1.2.840.113549.1.1.1.
pub(crate) const OID_RSA_ENCRYPTION: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// Contents of the Ed25519 OID, 1.3.101.112.
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Reads one TLV of the expected tag; returns its contents and what follows.
pub(crate) fn read(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), SigError> {
    const BAD: SigError = SigError::BadKey("DER");
    let (&t, rest) = input.split_first().ok_or(BAD)?;
    if t != tag {
        return Err(BAD);
    }
    let (&first, mut rest) = rest.split_first().ok_or(BAD)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // long form: at most two length bytes (keys here are far below 64 KB)
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 2 || rest.len() < n {
            return Err(BAD);
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        rest = &rest[n..];
        if len < 0x80 || (n == 2 && len < 0x100) {
            return Err(BAD); // not the shortest form
        }
        len
    };
    if rest.len() < len {
        return Err(BAD);
    }
    Ok((&rest[..len], &rest[len..]))
}

/// Appends one TLV with the given contents.
pub(crate) fn write(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(contents);
}

/// Appends a non-negative INTEGER from big-endian bytes (leading zeros dropped, a zero byte
/// added where the top bit is set).
pub(crate) fn write_uint(out: &mut Vec<u8>, be: &[u8]) {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let trimmed = &be[start..];
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(trimmed);
    write(out, INTEGER, &contents);
}

/// The AlgorithmIdentifier of rsaEncryption (with its NULL parameters).
pub(crate) fn rsa_algorithm_identifier(out: &mut Vec<u8>) {
    let mut alg = Vec::with_capacity(15);
    write(&mut alg, OID, OID_RSA_ENCRYPTION);
    write(&mut alg, NULL, &[]);
    write(out, SEQUENCE, &alg);
}
