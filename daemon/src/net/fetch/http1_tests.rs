//! Tests of the sans-IO HTTP/1.1 reader and request head, on byte slices.

use super::*;

/// Feeds `bytes` in pieces of `piece` bytes, then the end of the connection.
fn read_in(bytes: &[u8], piece: usize, max_body: usize) -> Result<Response, FetchError> {
    let mut r = ResponseReader::new(max_body);
    let mut done = false;
    for p in bytes.chunks(piece.max(1)) {
        if r.push(p)? {
            done = true;
            break;
        }
    }
    if !done {
        r.end()?;
    }
    r.into_response()
}

/// Reads `bytes` whole and in every piece size up to 9: all must agree.
fn read(bytes: &[u8], max_body: usize) -> Result<Response, FetchError> {
    let whole = read_in(bytes, bytes.len(), max_body);
    for piece in 1..10 {
        assert_eq!(read_in(bytes, piece, max_body), whole, "pieces of {piece}");
    }
    whole
}

#[test]
fn content_length_bodies_are_read_to_their_length() {
    let r = read(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nContent-Length: 5\r\n\r\nhello and more",
        100,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/activity+json"));
    assert_eq!(r.header("CONTENT-LENGTH"), Some("5"));
    assert_eq!(r.body, b"hello");
    let r = read(b"HTTP/1.0 404 Not Found\nContent-Length:  0 \n\n", 0).unwrap();
    assert_eq!((r.status, r.body.len()), (404, 0));
    let r = read(
        b"HTTP/1.1 302 Found\r\nLocation: https://b.test/\r\n\r\n",
        9,
    )
    .unwrap();
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://b.test/"))
    );
    assert_eq!(
        read(b"HTTP/1.1 204\r\nContent-Length: 9\r\n\r\n", 0)
            .unwrap()
            .status,
        204
    );
}

#[test]
fn chunked_bodies_are_joined_and_trailers_ignored() {
    let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n\
        5\r\nhello\r\n6;ext=\"x\"\r\n world\r\n000\r\nX-Trailer: y\r\n\r\nignored";
    let r = read(bytes, 11).unwrap();
    assert_eq!(r.body, b"hello world");
    let r = read(
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\na\nabcdefghij\n0\n\n",
        10,
    )
    .unwrap();
    assert_eq!(r.body, b"abcdefghij");
}

#[test]
fn a_body_without_length_runs_to_the_close() {
    let r = read(b"HTTP/1.1 200 OK\r\n\r\nall of it", 9).unwrap();
    assert_eq!(r.body, b"all of it");
    assert_eq!(
        read(b"HTTP/1.1 200 OK\r\n\r\nall of it", 8),
        Err(FetchError::TooLarge("body"))
    );
}

#[test]
fn interim_answers_are_skipped_a_few_times() {
    let r = read(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        2,
    )
    .unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.header("link")),
        (201, &b"ok"[..], None)
    );
    let many = "HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_INTERIM + 1) + "HTTP/1.1 200 OK\r\n\r\n";
    assert_eq!(
        read(many.as_bytes(), 0),
        Err(FetchError::BadResponse("too many interim responses"))
    );
    assert_eq!(
        read(b"HTTP/1.1 101 Switching\r\n\r\n", 0),
        Err(FetchError::BadResponse("unexpected protocol switch"))
    );
}

#[test]
fn bodies_over_the_limit_are_refused_early() {
    // Content-Length over the limit: refused at the head, before any body byte
    let mut r = ResponseReader::new(10);
    assert_eq!(
        r.push(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"),
        Err(FetchError::TooLarge("body"))
    );
    let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n";
    assert_eq!(
        read(huge, 10),
        Err(FetchError::BadResponse("bad Content-Length"))
    );
    // a chunk that would pass the limit: refused at its size line
    let mut r = ResponseReader::new(10);
    r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n")
        .unwrap();
    assert_eq!(r.push(b"3\r\n"), Err(FetchError::TooLarge("body")));
    let mut r = ResponseReader::new(usize::MAX);
    r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    assert_eq!(
        r.push(b"1ffffffffffffffff\r\n"),
        Err(FetchError::TooLarge("body"))
    );
    assert_eq!(
        read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            10
        )
        .unwrap()
        .body,
        b"0123456789"
    );
}

#[test]
fn a_head_over_16_kib_is_refused() {
    let mut head = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    head.resize(MAX_HEAD_BYTES + 100, b'a');
    let mut r = ResponseReader::new(10);
    assert_eq!(r.push(&head), Err(FetchError::TooLarge("response head")));
    assert_eq!(
        read_in(&head, 1000, 10),
        Err(FetchError::TooLarge("response head"))
    );
    // exactly at the limit it is read
    let mut at = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    at.resize(MAX_HEAD_BYTES - 4, b'a');
    at.extend_from_slice(b"\r\n\r\n");
    assert_eq!(read_in(&at, 777, 10).unwrap().status, 200);
    at.insert(20, b'a');
    assert_eq!(
        read_in(&at, 777, 10),
        Err(FetchError::TooLarge("response head"))
    );
    assert_eq!(
        read_in(&at, at.len(), 10),
        Err(FetchError::TooLarge("response head"))
    );
}

#[test]
fn more_than_64_header_lines_are_refused() {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..MAX_HEADER_LINES {
        head.push_str(&format!("X-{i}: y\r\n"));
    }
    let ok = format!("{head}\r\n");
    assert_eq!(
        read(ok.as_bytes(), 0).unwrap().headers.len(),
        MAX_HEADER_LINES
    );
    let over = format!("{head}X-last: y\r\n\r\n");
    assert_eq!(
        read(over.as_bytes(), 0),
        Err(FetchError::TooLarge("header lines"))
    );
}

#[test]
fn a_megabyte_chunk_size_line_is_refused_at_its_bound() {
    let mut r = ResponseReader::new(100);
    r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let hex = vec![b'f'; 1 << 20];
    assert_eq!(r.push(&hex), Err(FetchError::TooLarge("chunk-size line")));
    let mut r = ResponseReader::new(100);
    r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let zeros = vec![b'0'; MAX_CHUNK_LINE + 1];
    let err = zeros.chunks(7).find_map(|p| r.push(p).err());
    assert_eq!(err, Some(FetchError::TooLarge("chunk-size line")));
}

#[test]
fn chunked_framing_is_bounded_in_all() {
    let mut r = ResponseReader::new(1 << 20);
    r.push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let one =
        b"1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n";
    let err = (0..MAX_FRAMING_BYTES).find_map(|_| r.push(one).err());
    assert_eq!(err, Some(FetchError::TooLarge("chunked framing")));
}

#[test]
fn malformed_heads_and_framings_are_refused() {
    let bad = |bytes: &[u8]| match read(bytes, 100) {
        Err(FetchError::BadResponse(why)) => why,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
    };
    assert_eq!(bad(b"HTTP/2 200 OK\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"HTTP/1.1 20 OK\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"HTTP/1.1 2000 OK\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"HTTP/1.1 099 OK\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"HTTP/1.1 600 OK\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"HTTP/1.1 200 O\x00K\r\n\r\n"), "bad status line");
    assert_eq!(bad(b"\r\n\r\n"), "bad status line");
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n"),
        "folded header line"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
        "header line without a colon"
    );
    assert_eq!(bad(b"HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n"), "bad header name");
    assert_eq!(bad(b"HTTP/1.1 200 OK\r\n: 1\r\n\r\n"), "bad header name");
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"),
        "control byte in a header value"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"),
        "compressed body (Content-Encoding)"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        "transfer coding other than chunked"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "transfer coding other than chunked"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
        "both Transfer-Encoding and Content-Length"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        "conflicting Content-Length"
    );
    for cl in ["-1", "1,1", "+1", "0x1", ""] {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(bad(head.as_bytes()), "bad Content-Length", "{cl}");
    }
    let chunked = |rest: &[u8]| {
        [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            rest,
        ]
        .concat()
    };
    assert_eq!(bad(&chunked(b"x\r\n")), "bad chunk size");
    assert_eq!(bad(&chunked(b"\r\n")), "bad chunk size");
    assert_eq!(bad(&chunked(b"5x\r\nhello\r\n0\r\n\r\n")), "bad chunk size");
    assert_eq!(
        bad(&chunked(b"5\r\nhelloX\r\n0\r\n\r\n")),
        "no line end after a chunk"
    );
    assert_eq!(
        bad(&chunked(b"5\r\nhel")),
        "connection closed inside the body"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"),
        "connection closed inside the body"
    );
    assert_eq!(
        bad(b"HTTP/1.1 200 OK\r\n"),
        "connection closed before the head"
    );
    assert_eq!(bad(b""), "connection closed before the head");
}

#[test]
fn the_request_head_is_exact_and_refuses_injected_lines() {
    let head = request_head(
        "POST",
        "b.test:8443",
        "/users/bob/inbox?x=1",
        "msmd/1 (+https://a.test/)",
        &[
            ("Accept", "application/activity+json"),
            ("Signature", " k=\"v\" "),
        ],
        Some(12),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(head).unwrap(),
        "POST /users/bob/inbox?x=1 HTTP/1.1\r\nHost: b.test:8443\r\n\
         User-Agent: msmd/1 (+https://a.test/)\r\nConnection: close\r\nContent-Length: 12\r\n\
         Accept: application/activity+json\r\nSignature: k=\"v\"\r\n\r\n"
    );
    let bad = |h: (&str, &str)| request_head("GET", "a.test", "/", "ua", &[h], None).unwrap_err();
    assert_eq!(
        bad(("X", "a\r\nHost: evil")),
        FetchError::BadHeader("value has a control byte")
    );
    assert_eq!(
        bad(("X", "a\nb")),
        FetchError::BadHeader("value has a control byte")
    );
    assert_eq!(
        bad(("X: y", "a")),
        FetchError::BadHeader("name is not a token")
    );
    assert_eq!(bad(("", "a")), FetchError::BadHeader("name is not a token"));
    for own in [
        "host",
        "Content-Length",
        "Connection",
        "Transfer-Encoding",
        "Accept-Encoding",
    ] {
        assert_eq!(
            bad((own, "1")),
            FetchError::BadHeader("the client sets this header itself")
        );
    }
    assert!(request_head("GET", "a", "/", "ua\r\nX: y", &[], None).is_err());
}
