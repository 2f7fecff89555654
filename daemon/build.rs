//! Embeds the web client: gzips each text file of `static/` into `OUT_DIR` at build time (so
//! the binary carries both forms and never compresses at run time) and names an ETag for each.
//! The service worker (`sw.js`) gets the version of the client's other files written into
//! it, so every change to the client makes a new worker that replaces the cached copies.

use std::io::Write;
use std::path::Path;

/// Text files, served gzipped to a client that accepts it.
const TEXT_FILES: &[&str] = &[
    "index.html",
    "app.js",
    "app.css",
    "manifest.webmanifest",
    "sw.js",
];
/// Images, already compressed.
const IMAGE_FILES: &[&str] = &["icon-192.png", "icon-512.png", "icon-maskable-512.png"];
/// What `sw.js` holds in place of the client's version.
const VERSION_MARK: &str = "__CLIENT_VERSION__";

/// FNV-1a of some bytes: changes whenever they do.
fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let read = |name: &str| {
        let src = Path::new("static").join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()))
    };
    let mut version = 0xcbf2_9ce4_8422_2325u64;
    for name in TEXT_FILES
        .iter()
        .chain(IMAGE_FILES)
        .filter(|n| **n != "sw.js")
    {
        version = fnv(version, &read(name));
    }
    let mut index = String::new();
    for name in TEXT_FILES.iter().chain(IMAGE_FILES) {
        let mut raw = read(name);
        if *name == "sw.js" {
            let text = String::from_utf8(raw).expect("sw.js is UTF-8");
            assert!(text.contains(VERSION_MARK), "sw.js lacks {VERSION_MARK}");
            raw = text
                .replace(VERSION_MARK, &format!("{version:016x}"))
                .into_bytes();
        }
        std::fs::write(Path::new(&out).join(name), &raw).expect("write");
        let gz = if TEXT_FILES.contains(name) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&raw).expect("gzip");
            gz.finish().expect("gzip")
        } else {
            Vec::new()
        };
        std::fs::write(Path::new(&out).join(format!("{name}.gz")), &gz).expect("write");
        let etag = fnv(0xcbf2_9ce4_8422_2325, &raw);
        index.push_str(&format!(
            "Asset {{ name: {name:?}, raw: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\")), \
             gz: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.gz\")), etag: \"\\\"{etag:016x}\\\"\" }},\n"
        ));
    }
    std::fs::write(Path::new(&out).join("assets.rs"), format!("&[\n{index}]")).expect("write");
}
