//! Pictures between nodes: a follower's node shows a picture whose bytes it fetches from the
//! author's node on first view and keeps only if they hash to the signed reference; a
//! tampered byte is refused; a picture of a followers-only post is not served to a node that
//! does not follow; the author's delete removes the bytes on the author's node; the cache of
//! other nodes' pictures stays within `media.cache_bytes`.

use super::pictures::{gps_photo, media_files, upload};
use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::Node;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";

fn get(node: &Node, token: Option<&str>, path: &str) -> msm_tests::Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    node.http("GET", path, &h, None)
}

fn wait_for(
    node: &Node,
    token: &str,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let t0 = Instant::now();
    loop {
        let r = get(node, Some(token), path);
        if r.status == 200 {
            let v = r.json();
            if check(&v) {
                return v;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{what}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn post_picture(
    node: &Node,
    token: &str,
    bytes: &[u8],
    alt: &str,
    audience: &str,
) -> (String, u64) {
    let r = upload(node, token, bytes, "image/jpeg");
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = node.post_json(
        "/api/v1/posts",
        Some(token),
        &json!({"text": alt, "audience": audience, "media": [{"id": id, "alt": alt}]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    (id, r.json()["seq"].as_u64().unwrap())
}

#[test]
fn followers_nodes_fetch_verify_cache_and_lose_pictures() {
    let dns_port = free_port();
    let a = LabNode::new("a.test", &["alice"], PW, dns_port, "");
    // b's cache holds about one picture
    let b = LabNode::new(
        "b.test",
        &["bob"],
        PW,
        dns_port,
        "[media]\ncache_bytes = 150000\n",
    );
    let c = LabNode::new("c.test", &["carol"], PW, dns_port, "");
    let (na, nb, nc) = (a.start_with(&[]), b.start_with(&[]), c.start_with(&[]));
    let mut records = Vec::new();
    for (l, n, d) in [
        (&a, &na, "a.test"),
        (&b, &nb, "b.test"),
        (&c, &nc, "c.test"),
    ] {
        records.extend(node_records(d, l.port, Some(&key_of(n))));
    }
    let _dns = Dns::start(dns_port, &records);
    let (alice, bob, carol) = (
        na.login("alice", PW),
        nb.login("bob", PW),
        nc.login("carol", PW),
    );
    assert!(nb.follow(&bob, "alice@a.test").0 < 300);
    // carol follows too but will only see public pictures
    let tmp = tempfile::tempdir().unwrap();
    let photo =
        |i: u32| std::fs::read(gps_photo(tmp.path(), &format!("p{i}.jpg"), 700 + i, 500)).unwrap();

    // 1. a public picture: bob's node shows it, fetched from a.test on first view
    let bytes1 = photo(1);
    let (id1, seq1) = post_picture(&na, &alice, &bytes1, "a lighthouse at dusk", "public");
    let tl = wait_for(
        &nb,
        &bob,
        "/api/v1/timeline",
        "the picture post at b",
        |v| v.to_string().contains(&id1),
    );
    assert!(tl.to_string().contains("a lighthouse at dusk"));
    let t0 = Instant::now();
    let on_b = get(&nb, Some(&bob), &format!("/media/{id1}"));
    let took = t0.elapsed();
    assert_eq!(on_b.status, 200, "{}\n{}", on_b.text(), nb.log());
    let on_a = get(&na, None, &format!("/media/{id1}"));
    assert_eq!(on_b.body, on_a.body, "the same bytes");
    eprintln!(
        "first view of a {} byte picture on the follower's node: {took:?}",
        on_b.body.len()
    );
    assert!(media_files(b.dir.path())
        .iter()
        .any(|p| p.ends_with(&id1[2..])));

    // 2. a tampered byte on the author's disk: the follower's node refuses it by hash
    let bytes2 = photo(2);
    let (id2, _) = post_picture(&na, &alice, &bytes2, "a tampered harbour", "public");
    wait_for(&nb, &bob, "/api/v1/timeline", "the second post at b", |v| {
        v.to_string().contains(&id2)
    });
    let file = a.dir.path().join("media").join(&id2[..2]).join(&id2[2..]);
    let mut tampered = std::fs::read(&file).unwrap();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x55;
    std::fs::write(&file, &tampered).unwrap();
    let r = get(&nb, Some(&bob), &format!("/media/{id2}"));
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        !media_files(b.dir.path())
            .iter()
            .any(|p| p.ends_with(&id2[2..])),
        "nothing of the tampered picture kept"
    );

    // 3. followers-only: carol's node (not a follower) is not served the bytes
    let bytes3 = photo(3);
    let (id3, _) = post_picture(&na, &alice, &bytes3, "a private garden", "followers");
    wait_for(
        &nb,
        &bob,
        "/api/v1/timeline",
        "the private post at b",
        |v| v.to_string().contains(&id3),
    );
    let private = get(&nb, Some(&bob), &format!("/media/{id3}"));
    assert_eq!(private.status, 200);
    assert!(
        private
            .header("cache-control")
            .unwrap_or("")
            .starts_with("private"),
        "a followers-only picture is kept out of shared caches"
    );
    let public = get(&na, None, &format!("/media/{id2}"));
    assert!(public
        .header("cache-control")
        .unwrap_or("")
        .starts_with("public"));
    assert_eq!(get(&nc, Some(&carol), &format!("/media/{id3}")).status, 404);
    // the cache at b holds about one picture: the first is evicted
    let cached: Vec<_> = media_files(b.dir.path());
    let total: u64 = cached
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(total <= 150_000, "cache bound: {total} bytes in {cached:?}");

    // 4. the author deletes the post: the bytes are gone from the author's node
    let auth = format!("Bearer {alice}");
    let r = na.http(
        "DELETE",
        &format!("/api/v1/posts/{seq1}"),
        &[("Authorization", auth.as_str())],
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    assert!(!media_files(a.dir.path())
        .iter()
        .any(|p| p.ends_with(&id1[2..])));
    assert_eq!(get(&na, None, &format!("/media/{id1}")).status, 404);
}

/// A peer that asks for a public picture without end and reads nothing: the node answers one
/// chunk at a time into the link's bounded send queue, drops the peer that does not read, and
/// its memory stays bounded and comes back; a peer that reads gets every chunk.
#[test]
fn a_flood_of_picture_requests_is_bounded_and_a_non_reader_dropped() {
    use msm_tests::hostile::MemoryWatch;
    use msm_tests::lab::Peer;
    use msmd::proto::media_wire::{MediaGet, MediaPart};
    use msmd::proto::{FrameType, NodeKey};

    let lab = LabNode::new("flood-pics.test", &["alice"], PW, free_port(), "");
    let node = lab.start_with(&[]);
    let alice = node.login("alice", PW);
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(gps_photo(tmp.path(), "big.jpg", 1600, 1200)).unwrap();
    let (id, _) = post_picture(&node, &alice, &bytes, "a public picture", "public");
    let sha: [u8; 32] = msmd::proto::attachment::parse_hex256(&id).unwrap();
    let size = get(&node, None, &format!("/media/{id}")).body.len() as u32;
    let links: std::net::SocketAddr = format!("127.0.0.1:{}", lab.port).parse().unwrap();
    let key = NodeKey::generate().unwrap();

    // a reader gets the picture, chunk by chunk, from a link that proved nothing
    let mut reader = Peer::connect(links, "reader.test", &key).unwrap();
    let mut got = Vec::new();
    while (got.len() as u32) < size {
        let get = MediaGet {
            sha256: sha,
            offset: got.len() as u32,
        };
        reader.send(FrameType::MediaGet, &get.encode()).unwrap();
        let f = reader.recv_kind(FrameType::MediaPart).unwrap();
        let part = MediaPart::decode(&f.payload).unwrap();
        assert_eq!(part.offset as usize, got.len());
        got.extend_from_slice(&part.data);
    }
    assert_eq!(got, get(&node, None, &format!("/media/{id}")).body);

    // non-readers ask for the whole picture again and again
    let watch = MemoryWatch::start(node.pid());
    let idle = watch.now_kb();
    let mut floods = Vec::new();
    for i in 0..8 {
        let src = std::net::IpAddr::from([127, 0, 0, 2 + i as u8]);
        let mut p = Peer::connect_from(src, links, &format!("flood{i}.test"), &key).unwrap();
        for k in 0..2000u32 {
            let get = MediaGet {
                sha256: sha,
                offset: (k * 32 * 1024) % size,
            };
            if p.send(FrameType::MediaGet, &get.encode()).is_err() {
                break; // the node closed the link
            }
        }
        floods.push(p);
    }
    let peak = watch.peak_kb();
    assert!(
        peak < idle + 16 * 1024,
        "8 non-reading peers asking 2,000 chunks each: peak {peak} KiB, idle {idle} KiB"
    );
    drop(floods);
    let after = watch.settle(idle + 2 * 1024, Duration::from_secs(30));
    let _ = watch.report("picture request flood", after);
    // the node still serves
    assert_eq!(get(&node, None, &format!("/media/{id}")).status, 200);
}
