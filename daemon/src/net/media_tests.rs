//! Two nodes on real TCP links in one process: a picture posted on one is fetched by the
//! other; a picture not for the asker, or bytes that do not hash to the reference, keep
//! nothing.

use super::*;
use crate::discover::{Discovery, DiscoverySettings};
use crate::net::pool::StorePool;
use crate::net::NetSettings;
use crate::proto::attachment::{Attachment, Attachments, MediaType};
use crate::proto::{Audience, Body, Limits};
use crate::store::media::MediaInfo;
use crate::store::messages::tests::post_as;
use crate::store::pulse::Pulse;
use crate::store::writer::PostWriter;
use crate::store::{Role, Store};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;

struct Node {
    _dir: tempfile::TempDir,
    store: Store,
    net: Arc<Net>,
    writer: Option<PostWriter>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            tokio::task::block_in_place(|| w.finish());
        }
    }
}

async fn node(
    domain: &str,
    listener: tokio::net::TcpListener,
    peers: &[(&str, SocketAddr)],
) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let info = store.init_node(domain).unwrap();
    let writer = PostWriter::start(store.reopen().unwrap(), Arc::new(Pulse::default())).unwrap();
    let overrides: HashMap<String, SocketAddr> =
        peers.iter().map(|(d, a)| (d.to_string(), *a)).collect();
    let discovery = Discovery::new(DiscoverySettings {
        nameservers: vec!["127.0.0.1:9".parse().unwrap()],
        default_port: 0,
        overrides,
        webfinger: None,
    })
    .unwrap();
    let settings = NetSettings {
        backfill_on_follow: 0,
        max_age_ms: 86_400_000,
        max_links: 16,
        max_unverified: 8,
        max_unverified_per_addr: 8,
        unverified_idle: Duration::from_secs(60),
        max_subscribers: 100,
        media_cache_bytes: 1 << 20,
    };
    let net = Net::new(
        info.domain,
        info.key,
        discovery,
        StorePool::new(&store),
        writer.handle(),
        Arc::new(AtomicUsize::new(Limits::default().max_text)),
        settings,
    );
    tokio::spawn(crate::net::link::listen(net.clone(), listener));
    Node {
        _dir: dir,
        store,
        net,
        writer: Some(writer),
    }
}

/// Nodes a.test (alice posts a picture of `len` bytes to `audience`) and b.test (holds the
/// post as received); the picture's SHA-256.
async fn pair(len: usize, audience: Audience) -> (Node, Node, [u8; 32], Vec<u8>) {
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peers = [
        ("a.test", la.local_addr().unwrap()),
        ("b.test", lb.local_addr().unwrap()),
    ];
    let mut a = node("a.test", la, &peers).await;
    let mut b = node("b.test", lb, &peers).await;
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let alice = a
        .store
        .add_user("alice", Role::Owner, "h", false, 1)
        .unwrap();
    let files = MediaFiles::of(&a.store);
    let mut f = files.create().unwrap();
    f.write_all(&bytes).unwrap();
    let sha = files.commit(f, None).unwrap();
    let info = MediaInfo {
        sha256: sha,
        media_type: MediaType::Png,
        size: len as u64,
        width: 10,
        height: 10,
        orientation: 1,
        state: "local".into(),
    };
    a.store.record_upload(alice.id, &info, 1).unwrap();
    let mut attachments = Attachments::new();
    attachments
        .push(Attachment {
            sha256: sha,
            media_type: MediaType::Png,
            size: len as u32,
            width: 10,
            height: 10,
            orientation: 1,
            alt: "a test pattern".into(),
            blurhash: String::new(),
        })
        .unwrap();
    let body = Body::Pictures {
        text: String::new(),
        summary: String::new(),
        reply_to: None,
        mentions: Default::default(),
        attachments: Box::new(attachments),
    };
    let signed = post_as(&mut a.store, alice.id, audience, body).unwrap();
    b.store
        .receive_message(&signed.encode(), &alice.public_key, &Limits::default(), 1)
        .unwrap();
    (a, b, sha, bytes)
}

fn file_of(n: &Node, sha: &[u8; 32]) -> Option<Vec<u8>> {
    std::fs::read(MediaFiles::of(&n.store).path(sha)).ok()
}

fn tmp_is_empty(n: &Node) -> bool {
    let tmp = MediaFiles::of(&n.store).root().join("tmp");
    std::fs::read_dir(tmp).map_or(true, |mut d| d.next().is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_fetches_a_public_picture_from_its_authors_node() {
    let (_a, b, sha, bytes) = pair(2 * MEDIA_CHUNK + 123, Audience::Public).await;
    assert_eq!(b.store.media_info(&sha).unwrap().unwrap().state, "remote");
    assert!(file_of(&b, &sha).is_none());
    // two viewers at once: the second waits for the first's fetch
    let (one, two) = tokio::join!(b.net.fetch_media(sha), b.net.fetch_media(sha));
    one.unwrap();
    two.unwrap();
    assert_eq!(file_of(&b, &sha), Some(bytes));
    assert_eq!(b.store.media_info(&sha).unwrap().unwrap().state, "cached");
    // a second call finds it in place
    b.net.fetch_media(sha).await.unwrap();
    assert!(tmp_is_empty(&b));
    assert!(matches!(
        b.net.fetch_media([0xee; 32]).await,
        Err(NetError::NoSuchMedia(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_not_for_the_asker_is_not_given() {
    // b.test subscribes to nobody at a.test and a.test never dialled it: followers only
    let (_a, b, sha, _) = pair(1000, Audience::Followers).await;
    let got = b.net.fetch_media(sha).await;
    assert!(matches!(got, Err(NetError::MediaRefused { .. })), "{got:?}");
    assert!(file_of(&b, &sha).is_none());
    assert_eq!(b.store.media_info(&sha).unwrap().unwrap().state, "remote");
    assert!(tmp_is_empty(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_bytes_keep_nothing() {
    let (a, b, sha, mut bytes) = pair(MEDIA_CHUNK + 5, Audience::Public).await;
    // the author's node serves other bytes of the same length under the picture's name
    bytes[MEDIA_CHUNK + 2] ^= 1;
    std::fs::write(MediaFiles::of(&a.store).path(&sha), &bytes).unwrap();
    let got = b.net.fetch_media(sha).await;
    assert!(matches!(got, Err(NetError::MediaRefused { .. })), "{got:?}");
    assert!(file_of(&b, &sha).is_none());
    assert_eq!(b.store.media_info(&sha).unwrap().unwrap().state, "remote");
    assert!(tmp_is_empty(&b));
}
