//! Bodies of the fuzz targets in `daemon/fuzz` (each target is a one-line wrapper), kept here
//! so that ordinary `cargo test` runs them too, on a corpus of edge cases.
//!
//! Each checks more than "no panic": decoders must be canonical and agree with each other.

use crate::proto::{frame, Address, FrameDecoder, Limits, SignedMessage};

/// Signed-message decoder: whatever decodes re-encodes to exactly the input.
pub fn message(data: &[u8]) {
    if let Ok(m) = SignedMessage::decode(data, &Limits::default()) {
        assert_eq!(m.encode(), data, "decoded message is not canonical");
    }
}

/// Frame parser and decoder: `check` and `parse` agree, and feeding the bytes to a
/// `FrameDecoder` in two pieces yields the same first frame as `parse`.
pub fn frame(data: &[u8]) {
    let checked = frame::check(data);
    let parsed = frame::parse(data);
    match (&checked, &parsed) {
        (Ok(Some(n)), Ok(Some((f, m)))) => {
            assert_eq!(n, m);
            assert_eq!(f.payload.len() + frame::HEADER_LEN, *n);
        }
        (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
        _ => panic!("check {checked:?} and parse {parsed:?} disagree"),
    }
    let mut d = FrameDecoder::new();
    let split = data.len() / 2;
    let first = d
        .push(&data[..split])
        .and_then(|_| d.push(&data[split..]))
        .and_then(|_| d.next_frame());
    if let (Ok(Some(f)), Ok(Some((p, _)))) = (first, parsed) {
        assert_eq!(f.kind, p.kind);
        assert_eq!(f.payload, p.payload);
    }
}

/// Link control payloads (handshake, acks, subscriptions, backfill, follow requests and
/// answers, the firehose session's open and NACK, tunnel frames, picture chunks): every decoder
/// refuses or accepts without panicking, and what it accepts encodes to bytes that decode again
/// (these payloads are not signed, so a longer encoding of the same value is harmless and not
/// refused). The picture frames have a fixed layout: what decodes re-encodes to the input.
pub fn link_payload(data: &[u8]) {
    use crate::net::firehose::session::{Nack, Open};
    use crate::proto::link::{
        self as wire, Ack, Backfill, Close, Hello, Subscribe, Subscribed, Unsubscribe,
    };
    fn same<T: serde::Serialize + serde::de::DeserializeOwned>(data: &[u8]) {
        if let Ok(v) = wire::decode::<T>("fuzz", data) {
            let again = wire::encode(&v);
            assert!(again.len() <= data.len(), "re-encoding grew");
            assert!(
                wire::decode::<T>("fuzz", &again).is_ok(),
                "re-encoding does not decode"
            );
        }
    }
    let _ = Hello::decode(data);
    let _ = Nack::decode(data);
    same::<Ack>(data);
    // the delivering side's unparsed view takes every Ack the full decoder takes, alike
    if let Ok(view) = wire::AckView::decode(data) {
        if let Ok(ack) = wire::decode::<Ack>("fuzz", data) {
            assert_eq!(
                (view.author, view.seq, view.status),
                (ack.author.as_str(), ack.seq, ack.status)
            );
        }
    } else {
        assert!(
            wire::decode::<Ack>("fuzz", data).is_err(),
            "ack view refuses an ack"
        );
    }
    same::<Subscribe>(data);
    same::<Subscribed>(data);
    same::<Unsubscribe>(data);
    same::<Backfill>(data);
    same::<Close>(data);
    same::<Open>(data);
    same::<Nack>(data);
    same::<crate::proto::follow::FollowRequest>(data);
    same::<crate::proto::follow::FollowAnswer>(data);
    same::<crate::proto::follow::FollowUndo>(data);
    same::<crate::proto::follow::Withheld>(data);
    same::<crate::proto::conversation::AuthorKeyQuery>(data);
    same::<crate::proto::conversation::AuthorKey>(data);
    let _ = Open::decode(data);
    {
        use crate::proto::media_wire::{MediaGet, MediaMissing, MediaPart, MEDIA_CHUNK};
        if let Ok(g) = MediaGet::decode(data) {
            assert_eq!(g.encode(), data, "media get not canonical");
        }
        if let Ok(p) = MediaPart::decode(data) {
            assert!(!p.data.is_empty() && p.data.len() <= MEDIA_CHUNK);
            assert!(u64::from(p.offset) + p.data.len() as u64 <= u64::from(p.total));
            assert_eq!(p.encode(), data, "media part not canonical");
        }
        if let Ok(m) = MediaMissing::decode(data) {
            assert_eq!(m.encode(), data, "media missing not canonical");
        }
    }
    // tunnel frames: what decodes re-encodes to the same payload
    use crate::net::firehose::tunnel::{self, TunnelOut};
    use crate::proto::FrameType;
    for kind in [
        FrameType::TunnelOpen,
        FrameType::TunnelData,
        FrameType::TunnelClose,
    ] {
        if let Ok((id, bytes)) = tunnel::decode(kind, data) {
            let out = match kind {
                FrameType::TunnelOpen if bytes == [tunnel::TUNNEL_TLS] => TunnelOut::OpenTls(id),
                FrameType::TunnelOpen => TunnelOut::Open(id),
                FrameType::TunnelClose => TunnelOut::Close(id),
                _ => TunnelOut::Data(id, bytes.to_vec()),
            };
            assert_eq!(
                out.encode(),
                (kind, data.to_vec()),
                "tunnel frame not canonical"
            );
        }
    }
}

/// Stream datagram decoder: whatever decodes is canonical; a receiver fed the bytes (as they
/// are, and as the last half of a well-formed datagram) drops them without panicking and holds
/// nothing.
pub fn stream_packet(data: &[u8]) {
    use crate::proto::stream::{Packet, Receiver, ReceiverLimits};
    if let Ok(p) = Packet::decode(data) {
        assert_eq!(
            p.unsigned_bytes(),
            p.signed_bytes(),
            "datagram is not canonical"
        );
    }
    let key = crate::proto::NodeKey::from_bytes(&[9; 32]).map(|k| k.public());
    if let Ok(key) = key {
        // by TCP (relay) and by multicast (where only news counts as liveness)
        for multicast in [false, true] {
            let mut r = Receiver::new(key, ReceiverLimits::ROUTER, 0);
            let _ = if multicast {
                r.handle_multicast(0, data)
            } else {
                r.handle_datagram(0, data)
            };
            r.handle_timeout(u64::MAX / 2);
            while r.poll_event().is_some() {}
            assert_eq!(r.held_bytes(), 0);
        }
    }
}

/// Address parser: a parsed address is canonical and parses to itself.
pub fn address(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(a) = Address::parse(s) {
            let again = Address::parse(a.as_str()).expect("a canonical address parses");
            assert_eq!(again, a);
            assert_eq!(a.as_str(), a.as_str().to_ascii_lowercase());
        }
    }
}

/// Post-text spans: any bytes (as lossy UTF-8) give ordered, disjoint spans on character
/// boundaries within the limits, and each span's text, cut out alone, is that one span again.
pub fn text_spans(data: &[u8]) {
    use crate::proto::text::{self, MAX_SPANS, MAX_TAG_BYTES};
    let s = String::from_utf8_lossy(data);
    let all = text::spans(&s);
    assert!(all.len() <= MAX_SPANS);
    let mut last = 0;
    for span in &all {
        assert!(span.start >= last && span.start < span.end && span.end <= s.len());
        assert!(s.is_char_boundary(span.start) && s.is_char_boundary(span.end));
        last = span.end;
        let alone = text::spans(&s[span.start..span.end]);
        assert_eq!(alone.len(), 1, "{:?} alone", &s[span.start..span.end]);
        assert_eq!(alone[0].kind, span.kind);
        assert_eq!(alone[0].end, span.end - span.start);
    }
    assert!(text::mentions(&s, "localhost").len() <= text::MAX_MENTIONS);
    let tags = text::tags(&s);
    assert!(tags.iter().all(|t| t.len() <= MAX_TAG_BYTES));
    // the short cut for a text without `#` finds what the spans find
    let tagged = all
        .iter()
        .any(|sp| matches!(sp.kind, text::SpanKind::Tag(_)));
    assert_eq!(tags.is_empty(), !tagged);
}

/// Remote HTML reduced to text: no markup tag survives (a `<` followed by a letter in the
/// text was written by a character reference or a lone `<`), no control characters but line
/// breaks and tabs, nothing blank at the ends, and reducing the text again (as HTML-escaped
/// text) gives it back.
pub fn html_text(data: &[u8]) {
    use crate::activitypub::html_text::{to_text, MAX_HTML_BYTES};
    let s = String::from_utf8_lossy(data);
    let Ok(t) = to_text(&s, &()) else {
        assert!(s.len() > MAX_HTML_BYTES);
        return;
    };
    assert!(t.len() <= s.len() * 4 + 64, "text grew past its input");
    assert!(t.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
    assert_eq!(t, t.trim_matches(|c| c == '\n' || c == ' '));
    let escaped = t
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>");
    if !t.contains("  ") && !t.contains('\t') && !t.contains(" \n") && !t.contains("\n ") {
        assert_eq!(
            to_text(&escaped, &()).unwrap(),
            t,
            "escaped text reads back"
        );
    }
}

/// A remote post object read into msm's post: never panics, and what it reads stays within
/// msm's caps with only web IRIs.
pub fn ap_note(data: &[u8]) {
    use crate::activitypub::note::{read, ReadOptions, MAX_IRI_BYTES};
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let opts = ReadOptions {
        followers: Some("https://a.test/followers"),
        max_text: 500,
        allow_http: false,
    };
    if let Ok(n) = read(&v, &opts) {
        assert!(n.text.len() <= 500);
        for i in [&n.id, &n.attributed_to]
            .into_iter()
            .chain(n.in_reply_to.as_ref())
            .chain(n.pictures.iter().map(|p| &p.url))
        {
            assert!(i.starts_with("https://") && i.len() <= MAX_IRI_BYTES, "{i}");
        }
    }
}

/// An incoming activity and a remote actor document: never panic; what is read is on the
/// actor's host, with web IRIs only, and a key found is one the actor owns.
pub fn ap_activity(data: &[u8]) {
    use crate::activitypub::note::host_of;
    use crate::activitypub::{activity, actor_doc};
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(a) = activity::read(&v, false) {
        let host = host_of(&a.actor).expect("an actor with a host");
        assert!(a.actor.starts_with("https://") && a.id.starts_with("https://"));
        assert!(actor_doc::same_host(&a.id, host), "{} {}", a.id, a.actor);
    }
    let key_id = v
        .get("publicKey")
        .and_then(|k| k.get("id"))
        .and_then(|k| k.as_str())
        .unwrap_or("https://a.test/u#main-key");
    if let Ok(a) = actor_doc::read(&v, Some(key_id), false) {
        let host = host_of(&a.id).expect("an actor with a host");
        assert!(actor_doc::same_host(&a.inbox, host));
        assert!(a
            .shared_inbox
            .as_deref()
            .is_none_or(|s| actor_doc::same_host(s, host)));
        assert_eq!(a.key.as_ref().map(|k| k.0.as_str()), Some(key_id));
    }
}

/// The server name of a TLS `ClientHello` (a hub's HTTPS routing): never panics; a name is a
/// lowercase DNS name, and asking for more never asks for less than it has.
pub fn tls_client_hello(data: &[u8]) {
    use crate::net::firehose::sni::{server_name, Sni, MAX_NAME};
    match server_name(data) {
        Ok(Sni::Name(n)) => {
            assert!(!n.is_empty() && n.len() <= MAX_NAME, "{n}");
            assert_eq!(n, n.to_ascii_lowercase());
        }
        Ok(Sni::NeedMore(k)) => assert!(k > data.len(), "{k} {}", data.len()),
        _ => {}
    }
}

/// A DNS answer read by discovery's stub resolver: never panics, and what it keeps is
/// bounded. The id is taken from the input so that the fuzzer reaches past the header.
pub fn dns_answer(data: &[u8]) {
    use crate::discover::dns::message::{answer, Qtype, MAX_NAME, MAX_RECORDS, MAX_TXT};
    use crate::discover::dns::Record;
    let id = data
        .get(..2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    for q in [Qtype::A, Qtype::Aaaa, Qtype::Srv, Qtype::Txt] {
        if let Ok(a) = answer(data, id, "a.test", q) {
            assert!(a.records.len() <= MAX_RECORDS);
            for r in &a.records {
                match r {
                    Record::Srv { target, .. } => assert!(target.len() <= MAX_NAME),
                    Record::Txt(t) => assert!(t.len() <= 3 * MAX_TXT),
                    _ => {}
                }
            }
        }
    }
}

/// Configuration parser: any text gives a config or an error, never a panic.
pub fn config(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = crate::config::Config::parse(s) {
            c.validate().expect("a parsed config is valid");
        }
    }
}

/// Search query translator: any text up to the length limit gives an FTS5 expression (or
/// nothing to look for) that a real FTS5 table, tokenized as the store's are, runs without an
/// error.
pub fn search_query(data: &[u8]) {
    use crate::store::timeline::MAX_QUERY_BYTES;
    thread_local! {
        static FTS: Option<rusqlite::Connection> = rusqlite::Connection::open_in_memory()
            .and_then(|c| {
                c.execute_batch(
                    "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
                     INSERT INTO t(text) VALUES ('the quick #fox at example.org'), ('שלום café 🎉');",
                )?;
                Ok(c)
            })
            .ok();
    }
    let Ok(typed) = std::str::from_utf8(data) else {
        return;
    };
    if typed.len() > MAX_QUERY_BYTES {
        return;
    }
    let Some(expr) = crate::store::fts_query::translate(typed) else {
        return;
    };
    assert!(
        expr.len() <= typed.len() * 4 + 16,
        "{typed:?} grew to {expr:?}"
    );
    FTS.with(|fts| {
        if let Some(c) = fts {
            let run = c
                .prepare_cached("SELECT count(*) FROM t WHERE t MATCH ?1")
                .and_then(|mut st| st.query_row([&expr], |r| r.get::<_, i64>(0)));
            if let Err(e) = run {
                panic!("{typed:?} → {expr:?}: {e}");
            }
        }
    });
}

/// JPEG walker: see [`media_walker`].
pub fn media_jpeg(data: &[u8]) {
    media_walker(crate::media::jpeg::strip, data);
}

/// PNG walker: see [`media_walker`].
pub fn media_png(data: &[u8]) {
    media_walker(crate::media::png::strip, data);
}

/// WebP walker: see [`media_walker`].
pub fn media_webp(data: &[u8]) {
    media_walker(crate::media::webp::strip, data);
}

/// GIF walker: see [`media_walker`].
pub fn media_gif(data: &[u8]) {
    media_walker(crate::media::gif::strip, data);
}

/// A picture walker never panics; what it accepts is within the limits, its copied ranges are
/// inside the input, in order, disjoint and merged, the output is no larger than the input
/// plus the rewritten headers, and stripping the output again gives the same bytes (and the
/// same type, size and orientation), through [`media::strip`](crate::media::strip) too.
pub fn media_walker(
    walk: fn(&[u8]) -> Result<crate::media::Stripped, crate::media::MediaError>,
    data: &[u8],
) {
    use crate::media::{self, Piece};
    let Ok(s) = walk(data) else { return };
    assert!((1..=media::MAX_SIDE).contains(&s.width));
    assert!((1..=media::MAX_SIDE).contains(&s.height));
    assert!(u64::from(s.width) * u64::from(s.height) <= media::MAX_PIXELS);
    assert!((1..=8).contains(&s.orientation));
    assert!(s.pieces.len() <= 2 * media::MAX_PIECES + 2);
    let mut last_end = None;
    let mut after_copy = false;
    let mut added = 0;
    for piece in &s.pieces {
        match piece {
            Piece::Copy(r) => {
                assert!(
                    r.start < r.end && r.end <= data.len(),
                    "range {r:?} outside"
                );
                if let Some(end) = last_end {
                    assert!(r.start >= end, "ranges out of order");
                    assert!(!after_copy || r.start > end, "touching ranges not merged");
                }
                last_end = Some(r.end);
                after_copy = true;
            }
            Piece::Bytes(b) => {
                assert!(!b.is_empty(), "empty new bytes");
                added += b.len();
                after_copy = false;
            }
        }
    }
    assert!(added <= 100, "{added} new bytes");
    let out = s.to_vec(data);
    assert_eq!(out.len(), s.len());
    let mut written = Vec::new();
    s.write_to(data, &mut written).unwrap();
    assert_eq!(written, out);
    let again = media::strip(&out).expect("the output of strip is refused");
    assert_eq!(
        (
            again.media_type,
            again.width,
            again.height,
            again.orientation
        ),
        (s.media_type, s.width, s.height, s.orientation)
    );
    assert_eq!(again.to_vec(&out), out, "stripping is not idempotent");
}

/// `multipart/form-data`: the first byte picks the boundary's length, the rest is the body.
/// Every part's bytes lie inside the body, in order, and no part holds the delimiter.
pub fn multipart(data: &[u8]) {
    use crate::web::multipart::{parse, MAX_PARTS};
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize % 8 + 1).min(rest.len());
    let (b, body) = rest.split_at(n);
    let Ok(boundary) = std::str::from_utf8(b) else {
        return;
    };
    if let Ok(parts) = parse(body, boundary) {
        assert!(parts.len() <= MAX_PARTS);
        let delim = format!("\r\n--{boundary}");
        let base = body.as_ptr() as usize;
        let mut end = 0;
        for p in &parts {
            let start = p.data.as_ptr() as usize - base;
            assert!(start >= end && start + p.data.len() <= body.len());
            end = start + p.data.len();
            assert!(!p.data.windows(delim.len()).any(|w| w == delim.as_bytes()));
        }
    }
}

/// The Mastodon API's parameters, from a form and from JSON: bounded, never a panic.
pub fn mastodon_params(data: &[u8]) {
    use crate::web::mastodon::params::{Params, MAX_PARAMS};
    for p in [
        Params::from_json(data),
        Params::from_form(&String::from_utf8_lossy(data)),
    ]
    .into_iter()
    .flatten()
    {
        let _ = crate::web::mastodon::paging::Page::of(&p);
        assert!(p.len() <= MAX_PARAMS);
    }
}

/// WebSocket decoder: the same messages (or error) whatever the split of the input; every
/// text message within the limit; and each message, re-encoded as a client would, decodes to
/// itself.
pub fn websocket(data: &[u8]) {
    use crate::web::websocket::{encode_masked, Decoder, Message, Opcode, MAX_MESSAGE};
    let whole = Decoder::new().push(data);
    let mut d = Decoder::new();
    let split = data.len() / 3;
    let pieces = d.push(&data[..split]).and_then(|mut a| {
        a.extend(d.push(&data[split..])?);
        Ok(a)
    });
    match (&whole, &pieces) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "split changed the messages"),
        (Err(a), Err(b)) => assert_eq!(a, b, "split changed the error"),
        // an error after the messages both saw: the split run may report it, never differ
        _ => panic!("whole {whole:?} and split {pieces:?} disagree"),
    }
    for m in whole.iter().flatten() {
        let (op, payload): (Opcode, &[u8]) = match m {
            Message::Text(s) => (Opcode::Text, s.as_bytes()),
            Message::Binary(b) => (Opcode::Binary, b),
            Message::Ping(p) => (Opcode::Ping, p),
            Message::Pong(p) => (Opcode::Pong, p),
            Message::Close(_) => continue,
        };
        assert!(payload.len() <= MAX_MESSAGE, "message over the limit");
        let again = Decoder::new().push(&encode_masked(op, true, payload, [1, 2, 3, 4]));
        assert_eq!(again.as_deref(), Ok(std::slice::from_ref(m)), "re-encoding");
    }
}

/// HTTP signatures: the input is split at newlines into `Signature`, `Signature-Input`,
/// `Date`, `Digest`, `Content-Digest`, the request target and the body; verification never
/// panics and never accepts (nothing here holds the key's secret half), and whatever parses
/// stays within the named limits.
pub fn http_signature(data: &[u8]) {
    use crate::activitypub::keys::PublicKey;
    use crate::activitypub::sig::{self, CavageSignature, Request};
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(7, '\n');
    let mut next = || parts.next().unwrap_or("");
    let (signature, input, date, digest, content_digest, target) =
        (next(), next(), next(), next(), next(), next());
    let body = next().as_bytes();
    if let Ok(s) = CavageSignature::parse(signature) {
        assert!(s.key_id.len() <= sig::MAX_KEY_ID_LEN && s.headers.len() <= sig::MAX_COVERED);
        assert!(s.signature.len() <= sig::MAX_SIGNATURE_LEN);
    }
    if let Ok(inputs) = sig::parse_signature_input(input) {
        assert!(inputs.len() <= sig::MAX_LABELS);
        assert!(inputs
            .iter()
            .all(|i| i.components.len() <= sig::MAX_COVERED));
    }
    let mut headers = vec![
        ("Signature", signature),
        ("Date", date),
        ("Host", "peer.test"),
    ];
    for (name, value) in [
        ("Signature-Input", input),
        ("Digest", digest),
        ("Content-Digest", content_digest),
    ] {
        if !value.is_empty() {
            headers.push((name, value));
        }
    }
    let key = PublicKey::ed25519(&[
        0x26, 0xb4, 0x0b, 0x8f, 0x93, 0xff, 0xf3, 0xd8, 0x97, 0x11, 0x2f, 0x7e, 0xbc, 0x58, 0x2b,
        0x23, 0x2d, 0xbd, 0x72, 0x51, 0x7d, 0x08, 0x2f, 0xe8, 0x3c, 0xfb, 0x30, 0xdd, 0xce, 0x43,
        0xd1, 0xbb,
    ]);
    for method in ["POST", "GET"] {
        let req = Request {
            method,
            scheme: "https",
            authority: "peer.test",
            target,
            headers: &headers,
            body,
        };
        let verdict = sig::verify(&req, 1_618_884_473, |_| key.clone().ok());
        assert!(verdict.is_err(), "forged input verified: {verdict:?}");
    }
}

/// The HTTPS client's HTTP/1.1 response reader: the same answer (or error) whatever the split
/// of the input, and an answer within the reader's limits.
pub fn http_response(data: &[u8]) {
    use crate::net::fetch::http1::{ResponseReader, MAX_HEADER_LINES};
    use crate::net::fetch::{FetchError, Response};
    const MAX_BODY: usize = 1024;
    fn read(pieces: &[&[u8]]) -> Result<Response, FetchError> {
        let mut r = ResponseReader::new(MAX_BODY);
        for p in pieces {
            if r.push(p)? {
                break;
            }
        }
        if !r.is_done() {
            r.end()?;
        }
        r.into_response()
    }
    let whole = read(&[data]);
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let pieces = read(&[a, b, c]);
    assert_eq!(whole, pieces, "the split changed the answer");
    if let Ok(r) = whole {
        assert!(r.body.len() <= MAX_BODY, "body over the limit");
        assert!(r.headers.len() <= MAX_HEADER_LINES, "too many headers");
        assert!((200..=599).contains(&r.status), "not a final status");
    }
}

/// WebSub hub requests: never a panic; what is taken is within every bound and names a feed
/// of this node, and the verification URL of it is one the client can fetch.
pub fn websub_request(data: &[u8]) {
    use crate::websub::request::{
        self, MAX_CALLBACK_BYTES, MAX_LEASE_S, MIN_LEASE_S, SECRET_LIMIT,
    };
    if let Ok(r) = request::parse(data, "https://a.test", "a.test") {
        assert!(r.callback.len() <= MAX_CALLBACK_BYTES);
        assert!(r.secret.as_ref().is_none_or(|s| s.len() < SECRET_LIMIT));
        assert!((MIN_LEASE_S..=MAX_LEASE_S).contains(&r.lease_s));
        assert_eq!(r.topic, format!("https://a.test/@{}/feed.atom", r.user));
        let url = crate::websub::verify::verification_url(
            &r.callback,
            r.mode,
            &r.topic,
            &crate::websub::verify::challenge(),
            r.lease_s,
        );
        assert!(crate::net::fetch::parse_url(&url).is_ok(), "{url}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Audience, Body, Message, NodeKey};

    #[test]
    fn edge_cases_through_every_target() {
        let key = NodeKey::from_bytes(&[3; 32]).unwrap();
        let good = Message {
            author: Address::parse("a@b.test").unwrap(),
            seq: 1,
            time_ms: 0,
            audience: Audience::Public,
            body: Body::Post { text: "x".into() },
        }
        .sign(&key, &Limits::default())
        .unwrap()
        .encode();
        let mut frame_bytes = Vec::new();
        frame::encode(frame::FrameType::Message, &good, &mut frame_bytes).unwrap();
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0xff; 8],
            vec![0, 0, 0, 1, 3],
            // a TunnelOpen of a TLS connection
            vec![0, 0, 0, 1, crate::net::firehose::tunnel::TUNNEL_TLS],
            good.clone(),
            frame_bytes,
            b"alice@Smith.Family".to_vec(),
            "jörg@bücher.example".as_bytes().to_vec(),
            b"data_dir = \"x\"\n[http]\nworkers = 3".to_vec(),
            b"[[[".to_vec(),
            "@bob@b\u{fc}cher.test. #fox_2 (https://a.test/x_(y))."
                .as_bytes()
                .to_vec(),
            b"\"unclosed NEAR( col:x -".to_vec(),
            b"a OR NOT b* -\"c d\"* \0 AND".to_vec(),
            crate::proto::media_wire::MediaPart {
                sha256: [1; 32],
                offset: 3,
                total: 9,
                data: vec![7; 6],
            }
            .encode(),
            crate::proto::media_wire::MediaGet {
                sha256: [2; 32],
                offset: 9,
            }
            .encode(),
            crate::web::websocket::encode_masked(
                crate::web::websocket::Opcode::Text,
                true,
                b"{\"type\":\"subscribe\",\"stream\":\"user\"}",
                [9, 8, 7, 6],
            ),
            vec![0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            b"<p>a<br>b &amp; <a href=\"https://x.test/\">x</a><script>y</script></p>< <!-- "
                .to_vec(),
            br##"{"type":"Note","id":"https://a.test/1","attributedTo":"https://a.test/u","content":"<p>x</p>","to":"as:Public","tag":[{"type":"Hashtag","name":"#x"}]}"##.to_vec(),
            br##"{"type":"Undo","id":"https://a.test/u/1","actor":"https://a.test/u","object":{"type":"Follow","id":"https://a.test/f/1","actor":"https://a.test/u","object":"https://b.test/users/x"}}"##.to_vec(),
            br##"{"type":"Person","id":"https://a.test/u","preferredUsername":"u","inbox":"https://a.test/u/inbox","endpoints":{"sharedInbox":"https://a.test/inbox"},"publicKey":{"id":"https://a.test/u#main-key","owner":"https://a.test/u","publicKeyPem":"x"}}"##.to_vec(),
            b"keyId=\"k\",headers=\"(request-target) host date digest\",signature=\"AAAA\"\n\nTue, 20 Apr 2021 02:07:55 GMT\nSHA-256=RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=\n\n/inbox\n{}".to_vec(),
            b"\nsig1=(\"@method\" \"@target-uri\" \"content-digest\");created=1618884473;keyid=\"k\"\n\n\nsha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:\n/inbox\n{}".to_vec(),
            format!("<a{}>x", "é".repeat(1500)).into_bytes(),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n".to_vec(),
            b"hub.mode=subscribe&hub.topic=https%3A%2F%2Fa.test%2F%40al%2Ffeed.atom&hub.callback=https%3A%2F%2Fs.test%2Fc%3Fa%3D1%23f&hub.secret=%00&hub.lease_seconds=0".to_vec(),
            b"HTTP/1.0 301 Moved\nLocation: https://b.test/\nContent-Length: 3\n\nabc".to_vec(),
            // a.test TXT "v=msm1", the owner a compression pointer
            b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x01a\x04test\x00\x00\x10\x00\x01\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x07\x06v=msm1".to_vec(),
        ];
        for c in &cases {
            message(c);
            frame(c);
            address(c);
            config(c);
            stream_packet(c);
            link_payload(c);
            text_spans(c);
            search_query(c);
            media_jpeg(c);
            media_png(c);
            media_webp(c);
            media_gif(c);
            multipart(c);
            mastodon_params(c);
            websocket(c);
            html_text(c);
            ap_note(c);
            ap_activity(c);
            tls_client_hello(c);
            dns_answer(c);
            http_signature(c);
            http_response(c);
            websub_request(c);
        }
    }
}
