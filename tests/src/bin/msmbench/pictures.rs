//! Pictures (issue 14): the memory a node holds while it takes an 8 MiB photo and serves it,
//! the bytes written to storage per uploaded MiB, and how long a follower's node takes to show
//! a 2 MiB picture the first time someone there opens it (fetched from the author's node over
//! their link, hash-checked, cached, served), on loopback.
//!
//! The photos are real JPEGs made by ImageMagick (`bench/run` installs it), noisy enough not
//! to compress: an 8 MiB upload and a 2 MiB one.

use crate::node::Bench;
use crate::{out, progress, PASSWORD};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Bytes of the large photo: the default upload cap, less room for the request.
const LARGE: usize = 8 * 1024 * 1024 - 64 * 1024;
/// Bytes of the photo a follower's node shows.
const MEDIUM: usize = 2 * 1024 * 1024;
/// How long the follower's node may take to receive the post.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// ImageMagick's `convert` (the Debian name first: a stand-in may shadow `convert`).
fn convert() -> Command {
    for c in ["/usr/bin/convert-im6.q16", "/usr/bin/convert"] {
        if Path::new(c).exists() {
            return Command::new(c);
        }
    }
    Command::new("convert")
}

/// A noisy JPEG of about `bytes` (and at most that), made with ImageMagick.
fn photo(dir: &Path, name: &str, bytes: usize) -> Vec<u8> {
    let p = dir.join(name);
    // noise at quality 92 is about 0.8 bytes a pixel: pick the side from the size
    let mut side = ((bytes as f64 / 0.8).sqrt() as u32).max(64);
    loop {
        let ok = convert()
            .args([
                "-size",
                &format!("{side}x{side}"),
                "xc:gray",
                "+noise",
                "Random",
            ])
            .args(["-quality", "92"])
            .arg(&p)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "ImageMagick's convert could not make a photo (install imagemagick)"
        );
        let data = std::fs::read(&p).expect("photo");
        if data.len() <= bytes {
            return data;
        }
        side = side * 95 / 100;
    }
}

fn upload(node: &msm_tests::Node, token: &str, bytes: &[u8]) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "image/jpeg"),
    ];
    let r =
        msm_tests::request(node.addr, "POST", "/api/v1/media", &h, Some(bytes)).expect("upload");
    assert_eq!(r.status, 200, "upload: {}", r.text());
    r.json()
}

/// Runs the pictures phase.
pub fn run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    progress("pictures: making photos");
    let large = photo(tmp.path(), "large.jpg", LARGE);
    let medium = photo(tmp.path(), "medium.jpg", MEDIUM);

    // two nodes that know each other's link ports
    let a_links = free_port();
    let b_links = free_port();
    let a_addr: SocketAddr = format!("127.0.0.1:{a_links}").parse().expect("addr");
    let b_addr: SocketAddr = format!("127.0.0.1:{b_links}").parse().expect("addr");
    let a_listen = a_addr.to_string();
    let b_listen = b_addr.to_string();
    let a = Bench::start_in(
        None,
        "pics-a.test",
        &[("pics-b.test".into(), b_addr)],
        &["--links", &a_listen],
    );
    let b = Bench::start_in(
        None,
        "pics-b.test",
        &[("pics-a.test".into(), a_addr)],
        &["--links", &b_listen],
    );
    let ta = a.node.login("bob", PASSWORD);
    let tb = b.node.login("bob", PASSWORD);
    std::thread::sleep(Duration::from_secs(1));

    progress("pictures: an 8 MiB upload and its serving");
    let idle_hwm = a.status_kb("VmHWM");
    let idle_rss = a.status_kb("VmRSS");
    let w0 = a.write_bytes();
    let up = upload(&a.node, &ta, &large);
    let stored = up["size"].as_u64().unwrap_or(0);
    let w1 = a.write_bytes();
    let upload_hwm = a.status_kb("VmHWM");
    let id = up["id"].as_str().unwrap_or("").to_string();
    let served = a.node.http("GET", &format!("/media/{id}"), &[], None);
    // the served picture is the upload's (not public yet: its uploader may see it)
    let auth = format!("Bearer {ta}");
    let served = if served.status == 200 {
        served
    } else {
        a.node.http(
            "GET",
            &format!("/media/{id}"),
            &[("Authorization", auth.as_str())],
            None,
        )
    };
    assert_eq!(served.body.len() as u64, stored, "served bytes");
    let serve_hwm = a.status_kb("VmHWM");
    std::thread::sleep(Duration::from_secs(2));
    out("msm_picture_upload_bytes", large.len());
    out("msm_picture_stored_bytes", stored);
    out("msm_picture_idle_vmrss_kib", idle_rss);
    out("msm_picture_idle_vmhwm_kib", idle_hwm);
    out(
        "msm_picture_upload_vmhwm_above_idle_kib",
        upload_hwm.saturating_sub(idle_hwm),
    );
    out(
        "msm_picture_serve_vmhwm_above_idle_kib",
        serve_hwm.saturating_sub(idle_hwm),
    );
    out("msm_picture_after_vmrss_kib", a.status_kb("VmRSS"));
    out(
        "msm_picture_write_bytes_per_uploaded_mib",
        (w1 - w0) * 1024 * 1024 / (large.len() as u64).max(1),
    );

    progress("pictures: a follower's node shows a 2 MiB picture");
    let r = b.node.follow(&tb, "bob@pics-a.test");
    assert!(r.0 < 300, "follow: {}", r.1);
    std::thread::sleep(Duration::from_secs(1));
    let up = upload(&a.node, &ta, &medium);
    let id = up["id"].as_str().unwrap_or("").to_string();
    let r = a.node.post_json(
        "/api/v1/posts",
        Some(&ta),
        &serde_json::json!({"text": "", "media": [{"id": id, "alt": "noise"}]}),
    );
    assert_eq!(r.status, 201, "post: {}", r.text());
    let t0 = Instant::now();
    let auth_b = format!("Bearer {tb}");
    loop {
        let tl = b.node.http(
            "GET",
            "/api/v1/timeline",
            &[("Authorization", auth_b.as_str())],
            None,
        );
        if tl.text().contains(&id) {
            break;
        }
        assert!(
            t0.elapsed() < DELIVERY_WAIT,
            "the post did not reach the follower\n{}\n{}",
            a.node.log(),
            b.node.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t1 = Instant::now();
    let shown = b.node.http(
        "GET",
        &format!("/media/{id}"),
        &[("Authorization", auth_b.as_str())],
        None,
    );
    let first = t1.elapsed();
    assert_eq!(shown.status, 200, "first view: {}", shown.text());
    let t2 = Instant::now();
    let again = b.node.http(
        "GET",
        &format!("/media/{id}"),
        &[("Authorization", auth_b.as_str())],
        None,
    );
    let cached = t2.elapsed();
    assert_eq!(again.body.len(), shown.body.len());
    out("msm_picture_follower_bytes", shown.body.len());
    out(
        "msm_picture_follower_first_view_ms",
        format!("{:.1}", first.as_secs_f64() * 1e3),
    );
    out(
        "msm_picture_follower_cached_view_ms",
        format!("{:.1}", cached.as_secs_f64() * 1e3),
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
