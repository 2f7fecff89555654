//! `msmd`: parses the command line and runs it; all the work is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match msmd::cli::parse(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("msmd: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = msmd::cli::load_config(&args).map(|_| ()) {
        if !matches!(
            args.command,
            msmd::cli::Command::Help | msmd::cli::Command::Version
        ) {
            eprintln!("msmd: {e}");
            return ExitCode::from(2);
        }
    }
    match msmd::cli::execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msmd: error: {e:#}");
            // A configuration the system cannot hold (such as too few file descriptors).
            ExitCode::from(if e.is::<msmd::config::ConfigError>() {
                2
            } else {
                1
            })
        }
    }
}
