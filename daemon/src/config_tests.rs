//! Tests of configuration parsing and validation.

use super::*;

#[test]
fn empty_text_is_the_embedded_defaults() {
    let c = Config::parse("").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.data_dir, PathBuf::from("./msm-data"));
    assert_eq!(c.listen_addr().unwrap(), "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.limits().max_text, 16 * 1024);
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../../packaging/msmd.toml");
    let c = Config::parse(text).unwrap();
    assert_eq!(c.domain, None);
}

#[test]
fn full_file_parses() {
    let c = Config::parse(
        r#"
        data_dir = "/var/lib/msmd"
        domain = "Smith.Family"
        [http]
        listen = "[::]:8080"
        workers = 2
        session_days = 7
        [limits]
        max_post_bytes = 2000
        [log]
        filter = "warn,msmd::store=debug"
        "#,
    )
    .unwrap();
    assert_eq!(c.http.workers, 2);
    assert_eq!(c.limits().max_text, 2000);
}

fn err(text: &str) -> String {
    Config::parse(text).unwrap_err().to_string()
}

#[test]
fn unknown_keys_are_refused_by_name() {
    assert!(
        err("colour = 1").contains("colour"),
        "{}",
        err("colour = 1")
    );
    let e = err("[http]\nlisten = \"127.0.0.1:1\"\nlsiten = 2");
    assert!(e.contains("lsiten"), "{e}");
    assert!(err("[nope]").contains("nope"));
}

#[test]
fn bad_values_are_refused_by_key() {
    for (text, key) in [
        ("domain = \"bad..name\"", "domain"),
        ("[http]\nlisten = \"localhost\"", "http.listen"),
        ("[http]\nworkers = 0", "http.workers"),
        ("[http]\nsession_days = 9999", "http.session_days"),
        (
            "[limits]\nmax_post_bytes = 10000000",
            "limits.max_post_bytes",
        ),
        ("[log]\nfilter = \"loud\"", "log.filter"),
        ("[limits]\nposts_per_hour = 0", "limits.posts_per_hour"),
        ("[limits]\npost_burst = 0", "limits.post_burst"),
        ("[limits]\ndaily_post_bytes = 10", "limits.daily_post_bytes"),
        (
            "[http]\npublic_url = \"https://a.test/x?<script>\"",
            "http.public_url",
        ),
        ("[http]\npublic_url = \"ftp://a.test\"", "http.public_url"),
        ("[http]\nmetrics = \"wan\"", "http.metrics"),
        ("data_dir = \"\"", "data_dir"),
        (
            "[firehose]\nmulticast_retry_s = 100000",
            "firehose.multicast_retry_s",
        ),
    ] {
        let e = err(text);
        assert!(e.contains(key), "{text:?} gave {e}");
    }
    let e = err("[http]\nworkers = \"four\"");
    assert!(e.contains("workers"), "{e}");
    assert!(err("data_dir = ").contains("config"));
    let c = Config::parse("[firehose]\nmulticast_retry_s = 3").unwrap();
    assert_eq!(c.firehose.multicast_retry_s, 3);
}

#[test]
fn overrides_replace_and_are_validated() {
    let o = Overrides {
        listen: Some("0.0.0.0:9000".into()),
        domain: Some("a.test".into()),
        ..Overrides::default()
    };
    let c = Config::default().with_overrides(&o).unwrap();
    assert_eq!(c.http.listen, "0.0.0.0:9000");
    assert_eq!(c.domain.as_deref(), Some("a.test"));
    let bad = Overrides {
        listen: Some("nowhere".into()),
        ..Overrides::default()
    };
    assert!(Config::default()
        .with_overrides(&bad)
        .unwrap_err()
        .to_string()
        .contains("http.listen"));
}

#[test]
fn oversize_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.toml");
    std::fs::write(&p, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
    assert!(matches!(Config::load(&p), Err(ConfigError::TooLarge(_))));
    assert!(matches!(
        Config::load(&dir.path().join("missing.toml")),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn link_budgets_parse_and_are_validated() {
    let c = Config::parse(
        "[links]\nmax_links = 64\nmax_unverified = 8\nmax_unverified_per_addr = 2\nunverified_idle_s = 5\nmax_subscribers = 100",
    )
    .unwrap();
    assert_eq!(
        (
            c.links.max_unverified,
            c.links.max_unverified_per_addr,
            c.links.unverified_idle_s,
            c.links.max_subscribers
        ),
        (8, 2, 5, 100)
    );
    for (text, key) in [
        (
            "[links]\nmax_links = 10\nmax_unverified = 11",
            "links.max_unverified",
        ),
        ("[links]\nmax_unverified = 0", "links.max_unverified"),
        (
            "[links]\nmax_unverified = 4\nmax_unverified_per_addr = 5",
            "links.max_unverified_per_addr",
        ),
        ("[links]\nunverified_idle_s = 0", "links.unverified_idle_s"),
        ("[links]\nmax_subscribers = 0", "links.max_subscribers"),
    ] {
        let e = err(text);
        assert!(e.contains(key), "{text:?} gave {e}");
    }
}

#[test]
fn http_head_and_body_deadlines_are_read_and_checked() {
    let c = Config::parse("[http]\nhead_timeout_s = 3\nbody_timeout_s = 4").unwrap();
    assert_eq!((c.http.head_timeout_s, c.http.body_timeout_s), (3, 4));
    assert_eq!(Config::default().http.head_timeout_s, 10);
    assert!(err("[http]\nhead_timeout_s = 0").contains("http.head_timeout_s"));
    assert!(err("[http]\nhead_timeout_s = 121").contains("http.head_timeout_s"));
    assert!(err("[http]\nbody_timeout_s = 0").contains("http.body_timeout_s"));
}

#[test]
fn metrics_access_is_lan_by_default_and_named() {
    assert_eq!(Config::default().http.metrics_access(), MetricsAccess::Lan);
    for (text, access) in [
        ("off", MetricsAccess::Off),
        ("lan", MetricsAccess::Lan),
        ("any", MetricsAccess::Any),
    ] {
        let c = Config::parse(&format!("[http]\nmetrics = \"{text}\"")).unwrap();
        assert_eq!(c.http.metrics_access(), access);
    }
    for bad in ["", "LAN", "on", "public"] {
        assert!(MetricsAccess::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn store_page_size_is_a_power_of_two_sqlite_takes() {
    assert_eq!(Config::parse("").unwrap().store.page_size, 1024);
    let c = Config::parse("[store]\npage_size = 4096\n").unwrap();
    assert_eq!(c.store.page_size, 4096);
    for bad in ["0", "256", "1000", "131072"] {
        let e = Config::parse(&format!("[store]\npage_size = {bad}\n")).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    key: "store.page_size",
                    ..
                }
            ),
            "{bad}: {e}"
        );
    }
    assert!(Config::parse("[store]\npage_size = -1\n").is_err());
    assert!(
        Config::parse("[store]\npages = 1024\n").is_err(),
        "unknown key"
    );
}

#[test]
fn https_is_off_by_default_and_on_with_its_three_keys() {
    assert!(!Config::parse("").unwrap().https.enabled());
    let c = Config::parse(
        "[https]\nlisten = \"[::]:8443\"\ncert = \"/etc/msmd/fullchain.pem\"\nkey = \"/etc/msmd/key.pem\"\n",
    )
    .unwrap();
    assert!(c.https.enabled());
    assert_eq!(c.https.listen_addr(), Some("[::]:8443".parse().unwrap()));
    assert_eq!(c.https.key, "/etc/msmd/key.pem");
}

#[test]
fn https_needs_an_address_a_certificate_and_a_key() {
    let key_of = |text: &str| match Config::parse(text) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        key_of("[https]\nlisten = \"[::]:443\"\nkey = \"k.pem\"\n"),
        "https.cert"
    );
    assert_eq!(
        key_of("[https]\nlisten = \"[::]:443\"\ncert = \"c.pem\"\n"),
        "https.key"
    );
    assert_eq!(
        key_of("[https]\nlisten = \"443\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n"),
        "https.listen"
    );
    assert_eq!(
        key_of("[https]\ncert = \"c.pem\"\nkey = \"k.pem\"\n"),
        "https.listen"
    );
    assert!(matches!(
        Config::parse("[https]\nlisten = \"[::]:443\"\ncerts = \"c.pem\"\n"),
        Err(ConfigError::Syntax(_))
    ));
}
