//! Tests of reading the certificate files (the TLS listener itself is tested end to end in
//! `tests/tests/system/https.rs`, with certificates made by `openssl`).

use super::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn unreadable_empty_oversize_and_bad_pem_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = write(d, "key.pem", b"");
    let missing = d.join("missing.pem");
    assert!(
        matches!(load(&missing, &key), Err(TlsError::Read { path, .. }) if path.ends_with("missing.pem"))
    );
    let empty = write(d, "empty.pem", b"");
    assert!(
        matches!(load(&empty, &key), Err(TlsError::Certificate { why, .. }) if why == "no PEM certificate")
    );
    let big = write(d, "big.pem", &vec![b'a'; MAX_PEM_BYTES as usize + 1]);
    assert!(matches!(load(&big, &key), Err(TlsError::TooLarge(p)) if p.ends_with("big.pem")));
    let bad = write(
        d,
        "bad.pem",
        b"-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
    );
    assert!(
        matches!(load(&bad, &key), Err(TlsError::Certificate { why, .. }) if why.starts_with("bad PEM"))
    );
}

#[test]
fn a_chain_longer_than_the_bound_is_refused_before_the_key_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let long = write(dir.path(), "long.pem", one.repeat(MAX_CHAIN + 1).as_bytes());
    let missing_key = dir.path().join("no-key.pem");
    assert!(matches!(
        load(&long, &missing_key),
        Err(TlsError::Certificate { why, .. }) if why.contains("more than")
    ));
    // at the bound, the chain is taken and the key is what fails
    let ok = write(dir.path(), "ok.pem", one.repeat(MAX_CHAIN).as_bytes());
    assert!(matches!(
        load(&ok, &missing_key),
        Err(TlsError::Read { .. })
    ));
}
