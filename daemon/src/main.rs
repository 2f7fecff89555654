//! `msmd`: parses the command line and runs it; all the work is in the library.

use std::process::ExitCode;

/// Allocations of at least this many bytes get pages of their own from the kernel and give
/// them back when freed (an upload's body, up to `media.max_upload_bytes`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 256 * 1024;
/// glibc malloc arenas at most (see `tune_allocator`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MAX_ARENAS: i32 = 2;

/// glibc's allocator raises its mmap threshold to the size of each large block freed, after
/// which the next large block (an 8 MiB upload read by a connection thread) lands in that
/// thread's arena and stays there when freed: memory that never returns, an arena per
/// connection thread. A fixed threshold (which also turns off that adjustment) keeps large
/// blocks out of the arenas. musl, which router builds use, returns large blocks already.
/// glibc also gives threads arenas of their own, up to eight per core, each keeping what its
/// threads freed: with a thread per live stream that is memory the node never gets back, so
/// the arenas are capped at [`MAX_ARENAS`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets a parameter of the allocator; it is called before any other
    // thread exists, and an unknown value is refused by returning 0, which changes nothing.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, MAX_ARENAS);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
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
