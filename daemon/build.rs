//! Embeds the web client: gzips each file of `static/` into `OUT_DIR` at build time (so the
//! binary carries both forms and never compresses at run time) and names an ETag for each.

use std::io::Write;
use std::path::Path;

const FILES: &[&str] = &["index.html", "app.js", "app.css"];

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let mut index = String::new();
    for name in FILES {
        let src = Path::new("static").join(name);
        println!("cargo:rerun-if-changed={}", src.display());
        let raw = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).expect("gzip");
        let gz = gz.finish().expect("gzip");
        std::fs::write(Path::new(&out).join(format!("{name}.gz")), &gz).expect("write");
        // FNV-1a of the content: changes whenever the file does.
        let etag = raw.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        index.push_str(&format!(
            "Asset {{ name: {name:?}, raw: include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/static/{name}\")), \
             gz: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.gz\")), etag: \"\\\"{etag:016x}\\\"\" }},\n"
        ));
    }
    std::fs::write(Path::new(&out).join("assets.rs"), format!("&[\n{index}]")).expect("write");
}
