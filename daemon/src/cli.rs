//! The `msmd` command line.
//!
//! ```text
//! msmd [OPTIONS] [run]
//! msmd [OPTIONS] init --domain DOMAIN
//! msmd [OPTIONS] user add NAME [--owner] [--password-stdin]
//! msmd [OPTIONS] user list
//! msmd [OPTIONS] user remove NAME
//! msmd [OPTIONS] user passwd NAME [--password-stdin]
//! msmd [OPTIONS] follow NAME ADDRESS | unfollow NAME ADDRESS | following NAME | followers NAME
//! ```
//!
//! Options may stand anywhere. Exit status: 0 done, 1 failed, 2 bad command line or config.

use crate::config::{Config, ConfigError, Overrides};
use crate::node::{self, ConfigSource};
use crate::store::Role;
use crate::{identity, logging, now_ms};
use anyhow::{bail, Context};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// The text of `msmd --help`.
pub const HELP: &str = "\
msmd: a household's node of msm, a distributed Twitter carried by multicast

Usage: msmd [OPTIONS] [COMMAND]

Commands:
  run                        Run the node (the default command; no config file needed:
                             data in ./msm-data, domain localhost, web on 127.0.0.1:8080)
  init --domain DOMAIN       Initialise the data directory for DOMAIN
  user add NAME [--owner]    Add a user (member unless --owner); asks for a password
  user list                  List users
  user remove NAME           Remove a user (their posts stay; the name stays reserved)
  user passwd NAME           Set a user's password
  follow NAME ADDRESS        NAME follows ADDRESS (the running node subscribes within seconds)
  unfollow NAME ADDRESS      NAME stops following ADDRESS
  following NAME             Whom NAME follows, with the state of each subscription
  followers NAME             NAME's followers here and the servers subscribed elsewhere

Options:
  -c, --config FILE          Configuration file (TOML; see msmd.toml for every key)
  -d, --data DIR             Data directory (overrides data_dir)
      --domain DOMAIN        Domain this node hosts (overrides domain)
      --listen ADDR:PORT     HTTP address (overrides http.listen)
      --links ADDR:PORT      Address for links from other nodes (overrides links.listen)
      --log FILTER           Log filter such as info or info,msmd::store=debug
      --password-stdin       Read the password from the first line of standard input
  -h, --help                 Print this help
  -V, --version              Print the version

Environment:
  MSMD_LOG                   Log filter; overrides log.filter and --log
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `run`
    Run,
    /// `init`
    Init,
    /// `user add NAME`
    UserAdd {
        /// Name.
        name: String,
        /// `--owner`
        owner: bool,
    },
    /// `user list`
    UserList,
    /// `user remove NAME`
    UserRemove {
        /// Name.
        name: String,
    },
    /// `user passwd NAME`
    UserPasswd {
        /// Name.
        name: String,
    },
    /// `follow NAME ADDRESS`
    Follow {
        /// Local user.
        name: String,
        /// Who to follow.
        address: String,
    },
    /// `unfollow NAME ADDRESS`
    Unfollow {
        /// Local user.
        name: String,
        /// Who to stop following.
        address: String,
    },
    /// `following NAME`
    Following {
        /// Local user.
        name: String,
    },
    /// `followers NAME`
    Followers {
        /// Local user.
        name: String,
    },
    /// `--help`
    Help,
    /// `--version`
    Version,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The command.
    pub command: Command,
    /// `--config`
    pub config: Option<PathBuf>,
    /// Values that override the file.
    pub overrides: Overrides,
    /// `--password-stdin`
    pub password_stdin: bool,
}

/// A command-line error: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}\nTry 'msmd --help'.")]
pub struct UsageError(pub String);

/// Parses arguments (without the program name).
pub fn parse<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> Result<Args, UsageError> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut words: Vec<String> = Vec::new();
    let mut config = None;
    let mut o = Overrides::default();
    let (mut owner, mut password_stdin) = (false, false);
    let usage = |e: lexopt::Error| UsageError(e.to_string());
    let text = |v: std::ffi::OsString| {
        v.into_string()
            .map_err(|_| UsageError("arguments must be UTF-8".into()))
    };
    while let Some(arg) = p.next().map_err(usage)? {
        match arg {
            Short('h') | Long("help") => return Ok(simple(Command::Help)),
            Short('V') | Long("version") => return Ok(simple(Command::Version)),
            Short('c') | Long("config") => config = Some(PathBuf::from(p.value().map_err(usage)?)),
            Short('d') | Long("data") => {
                o.data_dir = Some(PathBuf::from(p.value().map_err(usage)?))
            }
            Long("domain") => o.domain = Some(text(p.value().map_err(usage)?)?),
            Long("listen") => o.listen = Some(text(p.value().map_err(usage)?)?),
            Long("log") => o.log_filter = Some(text(p.value().map_err(usage)?)?),
            Long("links") => o.links_listen = Some(text(p.value().map_err(usage)?)?),
            Long("owner") => owner = true,
            Long("password-stdin") => password_stdin = true,
            Value(v) => words.push(text(v)?),
            other => return Err(UsageError(other.unexpected().to_string())),
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let command = match words.as_slice() {
        ["run"] => Command::Run,
        ["init"] => {
            if o.domain.is_none() {
                return Err(UsageError("init needs --domain DOMAIN".into()));
            }
            Command::Init
        }
        ["user", "add", name] => Command::UserAdd {
            name: name.to_string(),
            owner,
        },
        ["user", "list"] => Command::UserList,
        ["user", "remove", name] => Command::UserRemove {
            name: name.to_string(),
        },
        ["user", "passwd", name] => Command::UserPasswd {
            name: name.to_string(),
        },
        ["follow", name, address] => Command::Follow {
            name: name.to_string(),
            address: address.to_string(),
        },
        ["unfollow", name, address] => Command::Unfollow {
            name: name.to_string(),
            address: address.to_string(),
        },
        ["following", name] => Command::Following {
            name: name.to_string(),
        },
        ["followers", name] => Command::Followers {
            name: name.to_string(),
        },
        [] => Command::Run,
        other => return Err(UsageError(format!("unknown command: {}", other.join(" ")))),
    };
    if owner && !matches!(command, Command::UserAdd { .. }) {
        return Err(UsageError("--owner goes with user add".into()));
    }
    if password_stdin
        && !matches!(
            command,
            Command::UserAdd { .. } | Command::UserPasswd { .. }
        )
    {
        return Err(UsageError(
            "--password-stdin goes with user add and user passwd".into(),
        ));
    }
    Ok(Args {
        command,
        config,
        overrides: o,
        password_stdin,
    })
}

fn simple(command: Command) -> Args {
    Args {
        command,
        config: None,
        overrides: Overrides::default(),
        password_stdin: false,
    }
}

/// Loads the configuration the arguments name, with their overrides.
pub fn load_config(args: &Args) -> Result<Config, ConfigError> {
    let base = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    base.with_overrides(&args.overrides)
}

/// Runs a parsed command.
pub fn execute(args: Args) -> anyhow::Result<()> {
    match &args.command {
        Command::Help => {
            print!("{HELP}");
            return Ok(());
        }
        Command::Version => {
            println!(
                "msmd {} (SQLite {})",
                env!("CARGO_PKG_VERSION"),
                rusqlite::version()
            );
            return Ok(());
        }
        _ => {}
    }
    let config = load_config(&args)?;
    let log = logging::init(&config.log.filter);
    match args.command {
        Command::Run => node::run(
            config,
            ConfigSource {
                path: args.config,
                overrides: args.overrides,
            },
            log,
        ),
        Command::Init => {
            let store = node::open_store(&config, true)?;
            let info = store.node_info()?;
            println!(
                "initialised {} for domain {} (node key {})",
                config.data_dir.display(),
                info.domain,
                info.key.public()
            );
            Ok(())
        }
        Command::UserAdd { name, owner } => {
            let mut store = node::open_store(&config, false)?;
            let password = read_password(args.password_stdin)?;
            let hash = identity::hash_password(&password)?;
            let role = if owner { Role::Owner } else { Role::Member };
            let user = store.add_user(&name, role, &hash, false, now_ms())?;
            println!("added {} ({})", user.address, role.as_str());
            Ok(())
        }
        Command::UserList => {
            let store = node::open_store(&config, false)?;
            for u in store.list_users()? {
                let note = if u.must_change_password {
                    "  (one-time password)"
                } else {
                    ""
                };
                println!("{}\t{}\t{}{note}", u.address, u.role.as_str(), u.public_key);
            }
            Ok(())
        }
        Command::UserRemove { name } => {
            let mut store = node::open_store(&config, false)?;
            store.remove_user(&name)?;
            println!("removed {name}; their posts stay and the name stays reserved");
            Ok(())
        }
        Command::UserPasswd { name } => {
            let mut store = node::open_store(&config, false)?;
            if store.user_by_name(&name)?.is_none() {
                bail!("no user {name}");
            }
            let password = read_password(args.password_stdin)?;
            let hash = identity::hash_password(&password)?;
            store.set_password(&name, &hash, false)?;
            println!("password of {name} changed; their sessions are ended");
            Ok(())
        }
        Command::Follow { name, address } => {
            let mut store = node::open_store(&config, false)?;
            let user = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow::anyhow!("no user {name}"))?;
            let author = crate::proto::Address::parse(&address)?;
            let backfill = config.delivery.backfill_on_follow;
            match store.follow(user.id, &author, backfill, now_ms())? {
                crate::store::federation::FollowNeeds::Subscription => {
                    println!(
                        "{} follows {author}; the running node subscribes at {} within seconds",
                        user.address,
                        author.domain()
                    )
                }
                crate::store::federation::FollowNeeds::Nothing => {
                    println!("{} follows {author}", user.address)
                }
            }
            Ok(())
        }
        Command::Unfollow { name, address } => {
            let mut store = node::open_store(&config, false)?;
            let user = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow::anyhow!("no user {name}"))?;
            let author = crate::proto::Address::parse(&address)?;
            let last = store.unfollow(user.id, &author)?;
            let note = if last {
                " (nobody here follows them now; their node stops delivering)"
            } else {
                ""
            };
            println!("{} no longer follows {author}{note}", user.address);
            Ok(())
        }
        Command::Following { name } => {
            let store = node::open_store(&config, false)?;
            let user = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow::anyhow!("no user {name}"))?;
            for (address, state, error) in store.following(user.id)? {
                let state = state.unwrap_or_else(|| "active".into());
                let error = error.map(|e| format!("\t{e}")).unwrap_or_default();
                println!("{address}\t{state}{error}");
            }
            Ok(())
        }
        Command::Followers { name } => {
            let store = node::open_store(&config, false)?;
            let user = store
                .user_by_name(&name)?
                .ok_or_else(|| anyhow::anyhow!("no user {name}"))?;
            let (local, servers) = store.followers(&user.address)?;
            for l in local {
                println!("{l}");
            }
            for s in servers {
                println!("server {s}");
            }
            Ok(())
        }
        Command::Help | Command::Version => Ok(()),
    }
}

/// A new password from the first line of stdin, or asked twice on the terminal without echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        identity::check_new_password(&pw)?;
        return Ok(pw);
    }
    if !stdin.is_terminal() {
        bail!("no terminal to ask for a password: use --password-stdin");
    }
    let first = prompt_hidden("New password: ")?;
    identity::check_new_password(&first)?;
    if prompt_hidden("Again: ")? != first {
        bail!("the passwords differ");
    }
    Ok(first)
}

fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let old = tcgetattr(&stdin)?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    tcsetattr(&stdin, SetArg::TCSANOW, &old)?;
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Args, UsageError> {
        parse(s.split_whitespace().map(std::ffi::OsString::from))
    }

    #[test]
    fn commands_and_options_anywhere() {
        let a = p("--data /d user add Alice --owner --password-stdin").unwrap();
        assert_eq!(
            a.command,
            Command::UserAdd {
                name: "Alice".into(),
                owner: true
            }
        );
        assert_eq!(a.overrides.data_dir, Some(PathBuf::from("/d")));
        assert!(a.password_stdin);
        let r = p("run --listen 127.0.0.1:0 -c /etc/msmd.toml").unwrap();
        assert_eq!(r.command, Command::Run);
        assert_eq!(r.config, Some(PathBuf::from("/etc/msmd.toml")));
        assert_eq!(p("init --domain a.test").unwrap().command, Command::Init);
        assert_eq!(p("--version").unwrap().command, Command::Version);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            p("").unwrap().command,
            Command::Run,
            "no command runs the node"
        );
        for bad in [
            "fly",
            "init",
            "user",
            "user add",
            "run --owner",
            "run --bogus",
            "list --password-stdin",
            "run --data",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
