use super::*;

const K: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn one(bytes: &[u8]) -> Result<Vec<Message>, DecodeError> {
    Decoder::new().push(bytes)
}

#[test]
fn accept_key_is_rfc_6455s_example() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert!(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
    assert!(!valid_key("dGhlIHNhbXBsZQ=="), "10 bytes, not 16");
    assert!(!valid_key("not base64 at all!!!!!!!"));
}

#[test]
fn masked_text_of_rfc_6455_example() {
    // RFC 6455 §5.7: a masked "Hello"
    let hello = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(one(&hello).unwrap(), vec![Message::Text("Hello".into())]);
    assert_eq!(encode_masked(Opcode::Text, true, b"Hello", K), hello);
    // the server's unmasked frame of the same
    assert_eq!(text("Hello"), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn unmasked_client_frame_is_a_protocol_error() {
    let e = one(&text("Hello")).unwrap_err();
    assert_eq!(e.close_code(), CLOSE_PROTOCOL);
}

#[test]
fn fragments_are_reassembled_with_a_ping_between_and_any_split() {
    let mut bytes = encode_masked(Opcode::Text, false, b"Hel", K);
    bytes.extend(encode_masked(Opcode::Ping, true, b"p", K));
    bytes.extend(encode_masked(Opcode::Continuation, true, b"lo", K));
    let want = vec![Message::Ping(b"p".to_vec()), Message::Text("Hello".into())];
    assert_eq!(one(&bytes).unwrap(), want);
    for split in 0..bytes.len() {
        let mut d = Decoder::new();
        let mut got = d.push(&bytes[..split]).unwrap();
        got.extend(d.push(&bytes[split..]).unwrap());
        assert_eq!(got, want, "split at {split}");
    }
    // byte by byte
    let mut d = Decoder::new();
    let got: Vec<Message> = bytes.iter().flat_map(|b| d.push(&[*b]).unwrap()).collect();
    assert_eq!(got, want);
}

#[test]
fn fragment_order_is_checked() {
    let cont = encode_masked(Opcode::Continuation, true, b"x", K);
    assert_eq!(one(&cont).unwrap_err().close_code(), CLOSE_PROTOCOL);
    let mut two = encode_masked(Opcode::Text, false, b"a", K);
    two.extend(encode_masked(Opcode::Text, true, b"b", K));
    assert_eq!(one(&two).unwrap_err().close_code(), CLOSE_PROTOCOL);
}

#[test]
fn a_message_over_the_limit_is_refused_from_its_header() {
    let at = encode_masked(Opcode::Text, true, &[b'a'; MAX_MESSAGE], K);
    assert_eq!(
        one(&at).unwrap(),
        vec![Message::Text("a".repeat(MAX_MESSAGE))]
    );
    let over = encode_masked(Opcode::Binary, true, &[0; MAX_MESSAGE + 1], K);
    // only the header: refused before any payload arrives
    assert_eq!(one(&over[..8]).unwrap_err(), DecodeError::TooBig);
    assert_eq!(DecodeError::TooBig.close_code(), CLOSE_TOO_BIG);
    // fragments that add up to more
    let mut frags = encode_masked(Opcode::Text, false, &[b'a'; MAX_MESSAGE], K);
    frags.extend(encode_masked(Opcode::Continuation, true, b"a", K));
    assert_eq!(one(&frags).unwrap_err(), DecodeError::TooBig);
    // a declared 2^63 - 1 bytes
    let mut huge = vec![0x82, 0xFF];
    huge.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
    assert_eq!(one(&huge).unwrap_err(), DecodeError::TooBig);
}

#[test]
fn control_frames_are_bounded_and_final() {
    let big = encode_masked(Opcode::Ping, true, &[0; MAX_CONTROL + 1], K);
    assert_eq!(one(&big).unwrap_err().close_code(), CLOSE_PROTOCOL);
    let frag = encode_masked(Opcode::Ping, false, b"", K);
    assert_eq!(one(&frag).unwrap_err().close_code(), CLOSE_PROTOCOL);
    let pong = encode_masked(Opcode::Pong, true, b"x", K);
    assert_eq!(one(&pong).unwrap(), vec![Message::Pong(b"x".to_vec())]);
}

#[test]
fn close_frames_are_checked_and_end_decoding() {
    let mut c = encode_masked(Opcode::Close, true, &1000u16.to_be_bytes(), K);
    c.extend(encode_masked(Opcode::Text, true, b"after", K));
    assert_eq!(one(&c).unwrap(), vec![Message::Close(Some(1000))]);
    assert_eq!(
        one(&encode_masked(Opcode::Close, true, b"", K)).unwrap(),
        vec![Message::Close(None)]
    );
    for bad in [&[3u8][..], &1005u16.to_be_bytes(), &999u16.to_be_bytes()] {
        let f = encode_masked(Opcode::Close, true, bad, K);
        assert_eq!(one(&f).unwrap_err().close_code(), CLOSE_PROTOCOL, "{bad:?}");
    }
    let mut reason = 1000u16.to_be_bytes().to_vec();
    reason.push(0xFF);
    let f = encode_masked(Opcode::Close, true, &reason, K);
    assert_eq!(one(&f).unwrap_err().close_code(), CLOSE_INVALID_DATA);
    assert_eq!(close(1009), [0x88, 0x02, 0x03, 0xF1]);
}

#[test]
fn bad_bits_opcodes_lengths_and_utf8_are_refused_for_good() {
    let mut rsv = encode_masked(Opcode::Text, true, b"x", K);
    rsv[0] |= 0x40;
    assert_eq!(one(&rsv).unwrap_err().close_code(), CLOSE_PROTOCOL);
    let mut op = encode_masked(Opcode::Text, true, b"x", K);
    op[0] = 0x83;
    assert_eq!(one(&op).unwrap_err().close_code(), CLOSE_PROTOCOL);
    // a 16-bit length for 5 bytes
    let long = [0x81, 0xFE, 0, 5, 0, 0, 0, 0, b'H', b'e', b'l', b'l', b'o'];
    assert_eq!(one(&long).unwrap_err().close_code(), CLOSE_PROTOCOL);
    let latin1 = encode_masked(Opcode::Text, true, &[0xE9], K);
    let mut d = Decoder::new();
    assert_eq!(
        d.push(&latin1).unwrap_err().close_code(),
        CLOSE_INVALID_DATA
    );
    // sticky: a good frame after it is not taken
    assert_eq!(
        d.push(&encode_masked(Opcode::Text, true, b"ok", K)),
        Err(DecodeError::NotUtf8)
    );
}

#[test]
fn server_frames_use_each_length_form() {
    assert_eq!(encode(Opcode::Text, &[0; 125])[1], 125);
    let mid = encode(Opcode::Text, &[0; 126]);
    assert_eq!(&mid[1..4], &[126, 0, 126]);
    let big = encode(Opcode::Binary, &[0; 70_000]);
    assert_eq!(big[1], 127);
    assert_eq!(big.len(), 70_000 + 10);
}
