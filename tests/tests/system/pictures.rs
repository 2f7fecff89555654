//! Pictures on one node, with real tools nobody here wrote: photos made by ImageMagick with GPS
//! and camera EXIF written by exiftool are uploaded; the stored and served bytes carry no GPS
//! and no EXIF but the orientation (exiftool reads them), still decode to the same size
//! (ImageMagick's `identify`), and serve with immutable, nosniff, script-free headers. Lying,
//! truncated, oversized, zipped, SVG and pixel-flood uploads are refused in words with nothing
//! stored and memory bounded; quotas answer 413/507 in words; a `kill -9` in the middle of an
//! upload leaves nothing half-written.

use msm_tests::hostile::MemoryWatch;
use msm_tests::lab::LabNode;
use msm_tests::{Node, Resp};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const PW: &str = "a long password";

/// ImageMagick's `convert` (Debian names it `convert-im6.q16` too; a stand-in earlier on PATH
/// is skipped by asking for the real one first).
fn convert() -> Command {
    for c in ["/usr/bin/convert-im6.q16", "/usr/bin/convert", "convert"] {
        if Path::new(c).exists() || c == "convert" {
            return Command::new(c);
        }
    }
    unreachable!()
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?} could not run ({e}): install imagemagick and libimage-exiftool-perl")
    });
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A phone-like photo: `w`×`h` JPEG with GPS, camera make and model, a comment and
/// orientation 6 (rotate 90° clockwise).
pub fn gps_photo(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
    let p = dir.join(name);
    run(convert()
        .args([
            "-size",
            &format!("{w}x{h}"),
            "plasma:red-blue",
            "-quality",
            "85",
        ])
        .arg(&p));
    run(Command::new("exiftool")
        .args([
            "-overwrite_original",
            "-GPSLatitude=48.8584",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=2.2945",
            "-GPSLongitudeRef=E",
            "-Make=PhoneMaker",
            "-Model=Phone 12",
            "-Comment=taken at home",
            "-XMP:Description=our house",
            "-Orientation#=6",
        ])
        .arg(&p));
    p
}

/// exiftool's reading of a file, as JSON (one object).
pub fn exif_of(path: &Path) -> Value {
    let out = run(Command::new("exiftool").args(["-j", "-a", "-G1"]).arg(path));
    let v: Value = serde_json::from_str(&out).expect("exiftool -j");
    v[0].clone()
}

/// `identify`'s width and height of a file.
pub fn dimensions(path: &Path) -> (u32, u32) {
    let out = run(Command::new("identify")
        .args(["-format", "%w %h\n"])
        .arg(path));
    let mut it = out.lines().next().unwrap_or("").split(' ');
    let w = it.next().and_then(|s| s.parse().ok()).expect("width");
    let h = it.next().and_then(|s| s.parse().ok()).expect("height");
    (w, h)
}

/// Uploads `bytes` with `content_type`.
pub fn upload(node: &Node, token: &str, bytes: &[u8], content_type: &str) -> Resp {
    let auth = format!("Bearer {token}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", content_type),
    ];
    msm_tests::request(node.addr, "POST", "/api/v1/media", &h, Some(bytes)).expect("upload")
}

fn get(node: &Node, token: Option<&str>, path: &str) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    node.http("GET", path, &h, None)
}

/// Files under the node's `media/` directory (the content-addressed pictures and temporaries).
pub fn media_files(data: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("media"), &mut out);
    out.sort();
    out
}

fn no_gps_no_exif_but_orientation(path: &Path) {
    let e = exif_of(path);
    let obj = e.as_object().expect("exiftool object");
    for (k, v) in obj {
        let group = k.split(':').next().unwrap_or("");
        assert!(!k.contains("GPS"), "GPS left: {k} = {v}");
        assert!(
            !matches!(group, "XMP-dc" | "XMP-x" | "XMP" | "IPTC" | "Photoshop"),
            "{k} left"
        );
        assert!(!k.ends_with(":Comment"), "comment left: {k}");
        assert!(
            !k.ends_with(":Make") && !k.ends_with(":Model"),
            "camera left: {k}"
        );
        if group == "IFD0" {
            assert!(
                k == "IFD0:Orientation",
                "EXIF other than the orientation left: {k} = {v}"
            );
        }
    }
    assert_eq!(
        obj.get("IFD0:Orientation").and_then(Value::as_str),
        Some("Rotate 90 CW"),
        "the orientation is kept: {e}"
    );
}

#[test]
fn photos_lose_gps_and_exif_but_keep_orientation_size_and_alt_text() {
    let lab = LabNode::new("pics.test", &["alice"], PW, 9, "");
    let node = lab.start_with(&[]);
    let token = node.login("alice", PW);
    let tmp = tempfile::tempdir().unwrap();
    let photo = gps_photo(tmp.path(), "photo.jpg", 1200, 800);
    assert!(
        exif_of(&photo).to_string().contains("GPS"),
        "the fixture has GPS"
    );
    let bytes = std::fs::read(&photo).unwrap();

    // the declared type lies: the bytes say JPEG
    let r = upload(&node, &token, &bytes, "image/png");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    let up = r.json();
    assert_eq!(up["type"], "image/jpeg");
    assert_eq!(
        (up["width"].as_u64(), up["height"].as_u64()),
        (Some(1200), Some(800))
    );
    assert_eq!(up["orientation"], 6);
    let id = up["id"].as_str().unwrap().to_string();
    assert!((up["size"].as_u64().unwrap() as usize) < bytes.len());

    // stored bytes: on disk under their hash
    let stored = lab.dir.path().join("media").join(&id[..2]).join(&id[2..]);
    no_gps_no_exif_but_orientation(&stored);
    assert_eq!(dimensions(&stored), (1200, 800));

    // served bytes, headers
    let served = get(&node, Some(&token), &format!("/media/{id}"));
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("image/jpeg"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert!(served
        .header("cache-control")
        .unwrap_or("")
        .contains("immutable"));
    assert!(served
        .header("content-security-policy")
        .unwrap_or("")
        .contains("default-src 'none'"));
    let out = tmp.path().join("served.jpg");
    std::fs::write(&out, &served.body).unwrap();
    no_gps_no_exif_but_orientation(&out);
    assert_eq!(dimensions(&out), (1200, 800));

    // a post carries it with its alt text; timelines, search and public pages show it
    let r = node.post_json(
        "/api/v1/posts",
        Some(&token),
        &json!({"text": "", "media": [{"id": id, "alt": "A red bicycle leaning on a fence",
                 "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"}]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let tl = get(&node, Some(&token), "/api/v1/timeline").json();
    let seq = tl["posts"][0]["seq"].as_u64().unwrap();
    let m = &tl["posts"][0]["media"][0];
    assert_eq!(m["alt"], "A red bicycle leaning on a fence", "{tl}");
    assert_eq!(m["url"], format!("/media/{id}"));
    assert_eq!(m["type"], "image/jpeg");
    assert_eq!(m["width"], 1200);
    let found = get(&node, Some(&token), "/api/v1/search?q=bicycle").json();
    assert!(
        found.to_string().contains(&id),
        "alt text is searched: {found}"
    );
    // anyone may see a public post's picture
    assert_eq!(get(&node, None, &format!("/media/{id}")).status, 200);

    // the public page: <img> with alt, size (turned by the orientation) and lazy loading
    let page = get(&node, None, "/@alice").text();
    assert!(
        page.contains(&format!("/media/{id}\" alt=\"A red bicycle leaning on a fence\" width=\"800\" height=\"1200\" loading=\"lazy\"")),
        "{page}"
    );
    // Atom: an enclosure with type and length, as feedparser reads it
    let enclosures = feed_enclosures(&node, "/@alice/feed.atom");
    assert_eq!(
        enclosures,
        vec![
            json!({"type": "image/jpeg", "length": up["size"].as_u64().unwrap().to_string(),
                    "href_ends": true})
        ],
        "{enclosures:?}"
    );

    // an avatar: on the profile, on posts, in WebFinger
    let png = tmp.path().join("avatar.png");
    run(convert()
        .args(["-size", "64x64", "xc:blue", "-set", "comment", "secret"])
        .arg(&png));
    let r = upload(
        &node,
        &token,
        &std::fs::read(&png).unwrap(),
        "application/octet-stream",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["type"], "image/png");
    let avatar = r.json()["id"].as_str().unwrap().to_string();
    let auth = format!("Bearer {token}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = node.http(
        "PUT",
        "/api/v1/profile",
        &h,
        Some(&json!({"avatar": avatar}).to_string()),
    );
    assert!(r.status < 300, "{}", r.text());
    let me = get(&node, Some(&token), "/api/v1/users/alice@pics.test").json();
    assert_eq!(me["avatar"], format!("/media/{avatar}"), "{me}");
    let tl = get(&node, Some(&token), "/api/v1/timeline").json();
    assert!(
        tl.to_string()
            .contains(&format!("\"avatar\":\"/media/{avatar}\"")),
        "{tl}"
    );
    let page = get(&node, None, "/@alice").text();
    assert!(
        page.contains("<img class=\"avatar\" src=\"")
            && page.contains(&format!("/media/{avatar}\" alt=\"\"")),
        "the profile page shows the avatar: {page}"
    );
    let wf = get(
        &node,
        None,
        "/.well-known/webfinger?resource=acct:alice@pics.test",
    )
    .json();
    assert!(
        wf.to_string().contains("http://webfinger.net/rel/avatar"),
        "{wf}"
    );
    let served = get(&node, None, &format!("/media/{avatar}"));
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert!(
        !served.text().contains("secret"),
        "PNG text chunks are stripped"
    );

    // attaching someone else's or an unknown picture is refused
    let r = node.post_json(
        "/api/v1/posts",
        Some(&token),
        &json!({"text": "x", "media": [{"id": "ab".repeat(32)}]}),
    );
    assert_eq!(r.status, 404, "{}", r.text());

    // deleting the post removes the file
    let r = node.http(
        "DELETE",
        &format!("/api/v1/posts/{seq}"),
        &[("Authorization", auth.as_str())],
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    assert!(
        !stored.exists(),
        "the picture goes with the last post that used it"
    );
    assert_eq!(
        get(&node, Some(&token), &format!("/media/{id}")).status,
        404
    );
}

/// The enclosures of a feed's first entry, as feedparser reads them.
fn feed_enclosures(node: &Node, path: &str) -> Vec<Value> {
    use std::io::Write;
    let feed = get(node, None, path);
    assert_eq!(feed.status, 200);
    let check = r#"
import feedparser, json, sys
f = feedparser.parse(sys.stdin.buffer.read())
assert not f.bozo, f.bozo_exception
print(json.dumps([{"type": e.type, "length": e.length, "href_ends": "/media/" in e.href}
                  for e in f.entries[0].enclosures]))
"#;
    let mut py = Command::new("python3")
        .args(["-c", check])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with feedparser");
    py.stdin.take().unwrap().write_all(&feed.body).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "feedparser: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A PNG header of the given size with a valid signature and IHDR (and nothing after).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&13u32.to_be_bytes());
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&[8, 6, 0, 0, 0]);
    v.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked by a header walk)
    v
}

#[test]
fn hostile_uploads_are_refused_in_words_with_nothing_stored() {
    let lab = LabNode::new("hostile-pics.test", &["alice"], PW, 9, "");
    let node = lab.start_with(&[]);
    let token = node.login("alice", PW);
    let tmp = tempfile::tempdir().unwrap();
    let photo = std::fs::read(gps_photo(tmp.path(), "p.jpg", 300, 200)).unwrap();
    let watch = MemoryWatch::start(node.pid());
    let idle = watch.now_kb();

    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#;
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0u8; 200]);
    let truncated = &photo[..photo.len() / 2];
    let cases: Vec<(&str, Vec<u8>, &str, u16)> = vec![
        ("an SVG", svg.to_vec(), "image/svg+xml", 415),
        ("a zip named .png", zip, "image/png", 415),
        ("text", b"hello, world".to_vec(), "image/jpeg", 415),
        ("a truncated JPEG", truncated.to_vec(), "image/jpeg", 400),
        ("a PNG 2^31 wide", png_header(1 << 31, 16), "image/png", 400),
        (
            "a PNG 100000x100000",
            png_header(100_000, 100_000),
            "image/png",
            400,
        ),
        ("an empty body", Vec::new(), "image/jpeg", 400),
    ];
    for (what, bytes, ct, status) in cases {
        let r = upload(&node, &token, &bytes, ct);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let e = r.json()["error"].as_str().unwrap_or("").to_string();
        assert!(e.len() > 10, "{what}: a clear error, got {e:?}");
    }
    // 50 MB: refused by its declared length, before it is read
    let head = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        50 * 1024 * 1024
    );
    let r = msm_tests::raw(node.addr, head.as_bytes()).expect("answer");
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(media_files(lab.dir.path()).is_empty(), "nothing stored");

    // not logged in: refused before anything is looked at
    let r = msm_tests::request(node.addr, "POST", "/api/v1/media", &[], Some(&photo)).unwrap();
    assert_eq!(r.status, 401);

    // a flood of full-size uploads: memory stays bounded and comes back
    let eight = {
        let mut v = photo.clone();
        // a valid JPEG padded after EOI up to the cap (the walker drops what follows EOI)
        v.resize(8 * 1024 * 1024 - 1024, 0);
        v
    };
    for _ in 0..6 {
        let r = upload(&node, &token, &eight, "image/jpeg");
        assert!(r.status == 200 || r.status == 503, "{}", r.text());
    }
    let peak = watch.peak_kb();
    assert!(
        peak < idle + 24 * 1024,
        "uploading 8 MiB pictures holds at most two bodies: peak {peak} KiB, idle {idle} KiB"
    );
    let _ = watch.report(
        "uploads of 8 MiB",
        watch.settle(idle + 4 * 1024, Duration::from_secs(10)),
    );
}

#[test]
fn quotas_and_caps_answer_in_words_and_a_kill_mid_upload_leaves_nothing() {
    let lab = LabNode::new(
        "quota.test",
        &["alice", "bob"],
        PW,
        9,
        "[media]\nmax_upload_bytes = 40000\nuser_quota_bytes = 45000\nmax_total_bytes = 65000\n",
    );
    let node = lab.start_with(&[]);
    let (alice, bob) = (node.login("alice", PW), node.login("bob", PW));
    let tmp = tempfile::tempdir().unwrap();
    let pics: Vec<Vec<u8>> = (0..4)
        .map(|i| std::fs::read(gps_photo(tmp.path(), &format!("q{i}.jpg"), 300 + i, 300)).unwrap())
        .collect();
    let sizes: Vec<usize> = pics.iter().map(Vec::len).collect();
    assert!(sizes.iter().all(|&s| s > 15_000 && s < 40_000), "{sizes:?}");

    // alice fills her quota, then 413 in words
    let mut used = 0;
    let mut refused = None;
    for p in &pics {
        let r = upload(&node, &alice, p, "image/jpeg");
        if r.status == 200 {
            used += r.json()["size"].as_u64().unwrap();
        } else {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the quota binds");
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("user_quota_bytes"), "{}", r.text());
    assert!(used <= 45_000);
    // bob hits the node's cap: 507 in words
    let mut last = None;
    for p in pics.iter().rev() {
        let r = upload(&node, &bob, p, "image/jpeg");
        if r.status != 200 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("the node cap binds");
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(r.text().contains("max_total_bytes"), "{}", r.text());

    // kill -9 while an upload's body is half sent: after a restart nothing is half-written
    let before: Vec<PathBuf> = media_files(lab.dir.path());
    let mut s = std::net::TcpStream::connect(node.addr).unwrap();
    use std::io::Write;
    let head = format!(
        "POST /api/v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bob}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        pics[0].len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&pics[0][..pics[0].len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    node.kill9();
    let node = lab.start_with(&[]);
    let after = media_files(lab.dir.path());
    assert_eq!(
        after, before,
        "no temporary or orphan file after the restart"
    );
    assert!(after
        .iter()
        .all(|p| !p.to_string_lossy().contains("/media/tmp/")));
    drop(node);
}
