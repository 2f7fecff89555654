//! Bad configuration is refused at start, naming the key, before anything is written.

use msm_tests::{msmd, text};

fn run_with(config: &str, extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("msmd.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &cfg,
        format!("data_dir = {:?}\n{config}", data.to_str().unwrap()),
    )
    .unwrap();
    let mut args = vec!["run", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    (msmd(&args, ""), dir)
}

#[test]
fn unknown_keys_and_bad_values_are_refused_by_name() {
    for (config, extra, key) in [
        ("colour = \"blue\"\n", &[][..], "colour"),
        ("[http]\nlisen = \"127.0.0.1:1\"\n", &[], "lisen"),
        ("[http]\nworkers = 0\n", &[], "http.workers"),
        ("[http]\nlisten = \"everywhere\"\n", &[], "http.listen"),
        (
            "[limits]\nmax_post_bytes = 99999999\n",
            &[],
            "limits.max_post_bytes",
        ),
        ("[log]\nfilter = \"chatty\"\n", &[], "log.filter"),
        ("domain = \"no..dots\"\n", &[], "domain"),
        ("[http\n", &[], "config"),
        ("", &["--listen", "nowhere"], "http.listen"),
        ("", &["--domain", "-bad-"], "domain"),
    ] {
        let (o, dir) = run_with(config, extra);
        assert_eq!(o.status.code(), Some(2), "{config:?}: {}", text(&o));
        assert!(
            text(&o).contains(key),
            "{config:?} should name {key}: {}",
            text(&o)
        );
        assert!(
            !dir.path().join("data").exists(),
            "{config:?}: a refused config wrote data"
        );
    }
    let o = msmd(&["run", "--config", "/nonexistent/msmd.toml"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/msmd.toml"), "{}", text(&o));
}
