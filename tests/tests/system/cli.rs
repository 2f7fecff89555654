//! The command line: init, user administration, help and version.

use msm_tests::{msmd, text};

#[test]
fn version_help_and_usage_errors() {
    let v = msmd(&["--version"], "");
    assert!(v.status.success());
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!(
            "msmd {} (SQLite {})",
            env!("CARGO_PKG_VERSION"),
            rusqlite::version()
        )
    );
    let h = msmd(&["--help"], "");
    assert!(h.status.success());
    for word in [
        "Usage: msmd [OPTIONS] [COMMAND]",
        "init --domain",
        "user add",
        "--password-stdin",
        "MSMD_LOG",
    ] {
        assert!(text(&h).contains(word), "help lacks {word}");
    }
    for bad in [
        &["fly"][..],
        &["init"],
        &["user", "add"],
        &["run", "--bogus"],
    ] {
        let o = msmd(bad, "");
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(text(&o).contains("msmd --help"), "{bad:?}: {}", text(&o));
    }
}

#[test]
fn init_and_user_administration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();

    let o = msmd(&["user", "list", "--data", d], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not initialised"), "{}", text(&o));

    let o = msmd(&["init", "--data", d, "--domain", "Smith.Family"], "");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("smith.family"));
    let o = msmd(&["init", "--data", d, "--domain", "jones.family"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("belongs to domain smith.family"),
        "{}",
        text(&o)
    );

    let add = |name: &str, pw: &str, owner: bool| {
        let mut a = vec!["user", "add", name, "--data", d, "--password-stdin"];
        if owner {
            a.push("--owner");
        }
        msmd(&a, &format!("{pw}\n"))
    };
    assert!(add("Alice", "alice-secret", true).status.success());
    assert!(add("bob", "bob-secret-1", false).status.success());
    let o = add("alice", "another-one", false);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("taken"), "{}", text(&o));
    let o = add("carol", "short", false);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("too short"), "{}", text(&o));
    let o = add("no way", "long-enough-pw", false);
    assert!(text(&o).contains("user name"), "{}", text(&o));
    let o = msmd(&["user", "add", "dave", "--data", d], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("--password-stdin"), "{}", text(&o));

    let list = msmd(&["user", "list", "--data", d], "");
    let list = text(&list);
    assert!(
        list.contains("alice@smith.family\towner\ted25519:"),
        "{list}"
    );
    assert!(
        list.contains("bob@smith.family\tmember\ted25519:"),
        "{list}"
    );
    assert!(!list.contains("carol") && !list.contains("dave"), "{list}");

    let o = msmd(
        &["user", "passwd", "bob", "--data", d, "--password-stdin"],
        "bob-secret-2\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = msmd(
        &["user", "passwd", "nobody", "--data", d, "--password-stdin"],
        "whatever-123\n",
    );
    assert_eq!(o.status.code(), Some(1));

    let o = msmd(&["user", "remove", "alice", "--data", d], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("last owner"), "{}", text(&o));
    let o = msmd(&["user", "remove", "bob", "--data", d], "");
    assert!(o.status.success(), "{}", text(&o));
    let list = text(&msmd(&["user", "list", "--data", d], ""));
    assert!(!list.contains("bob@"), "{list}");
    let o = add("bob", "bob-secret-3", false);
    assert!(
        text(&o).contains("reserved"),
        "a removed name stays reserved: {}",
        text(&o)
    );
}
