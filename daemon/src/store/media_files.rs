//! The pictures' files: content-addressed under `<data_dir>/media/ab/cdef…` (the SHA-256 in
//! hex, split after two digits so no directory holds more than a few hundred names).
//!
//! A file is written whole or not at all: into `media/tmp/` first, synced, then renamed into
//! place and the directory synced. A crash leaves at most a file in `media/tmp/` or a file
//! with no `media` row; [`MediaFiles::sweep`] removes both at the next start, so nothing
//! half-written is ever served and nothing orphaned stays for ever.

use super::{Store, StoreError};
use crate::proto::attachment::{hex, parse_hex256};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The directory under the data directory.
pub const MEDIA_DIR: &str = "media";
/// Where files are written before they are renamed into place.
pub const TMP_DIR: &str = "tmp";
/// Most files one start-up sweep looks at (a router's flash holds far fewer pictures).
pub const MAX_SWEEP: usize = 1_000_000;

/// Names temporary files apart (an `AtomicUsize`: 32-bit MIPS has no 64-bit atomics).
static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The pictures' directory.
#[derive(Debug, Clone)]
pub struct MediaFiles {
    root: PathBuf,
}

/// A file being written: bytes go to a temporary file and through SHA-256.
pub struct NewFile {
    file: File,
    tmp: PathBuf,
    hash: Sha256,
    len: u64,
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        // still here if it was not renamed into place: a write that failed or was refused
        let _ = fs::remove_file(&self.tmp);
    }
}

impl NewFile {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The SHA-256 of what was written.
    pub fn digest(&self) -> [u8; 32] {
        self.hash.clone().finalize().into()
    }
}

impl MediaFiles {
    /// The pictures' directory of the store's data directory.
    pub fn of(store: &Store) -> Self {
        let data = store.db_path().parent().unwrap_or(Path::new("."));
        MediaFiles {
            root: data.join(MEDIA_DIR),
        }
    }

    /// A directory of one's own (tests).
    pub fn at(root: PathBuf) -> Self {
        MediaFiles { root }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file of `sha256` lives.
    pub fn path(&self, sha256: &[u8; 32]) -> PathBuf {
        let h = hex(sha256);
        self.root.join(&h[..2]).join(&h[2..])
    }

    /// Starts a new file in `media/tmp/`.
    pub fn create(&self) -> io::Result<NewFile> {
        let dir = self.root.join(TMP_DIR);
        fs::create_dir_all(&dir)?;
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{}-{n}", std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        Ok(NewFile {
            file,
            tmp,
            hash: Sha256::new(),
            len: 0,
        })
    }

    /// Syncs a finished file and renames it into place under its hash, which must be
    /// `expect` when given (a fetched picture). Returns the hash. If the same bytes are
    /// there already, the new copy is dropped.
    pub fn commit(&self, mut f: NewFile, expect: Option<&[u8; 32]>) -> io::Result<[u8; 32]> {
        let sha = f.digest();
        if expect.is_some_and(|e| *e != sha) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the bytes do not hash to the picture's SHA-256",
            ));
        }
        f.file.flush()?;
        f.file.sync_all()?;
        let dest = self.path(&sha);
        if dest.exists() {
            return Ok(sha);
        }
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent)?;
        fs::rename(&f.tmp, &dest)?;
        if let Ok(d) = File::open(&parent) {
            let _ = d.sync_all();
        }
        Ok(sha)
    }

    /// Opens the file of `sha256` for reading, with its length.
    pub fn open(&self, sha256: &[u8; 32]) -> io::Result<(File, u64)> {
        let f = File::open(self.path(sha256))?;
        let len = f.metadata()?.len();
        Ok((f, len))
    }

    /// Whether the file of `sha256` is there.
    pub fn exists(&self, sha256: &[u8; 32]) -> bool {
        self.path(sha256).is_file()
    }

    /// Removes the file of `sha256`; one already gone is fine.
    pub fn remove(&self, sha256: &[u8; 32]) {
        let p = self.path(sha256);
        if let Err(e) = fs::remove_file(&p) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(file = %p.display(), error = %e, "could not remove a picture");
            }
        }
    }

    /// Checks that the file of `sha256` still hashes to it (used when a file's length looks
    /// wrong after a crash).
    pub fn verify(&self, sha256: &[u8; 32]) -> io::Result<bool> {
        let (mut f, _) = self.open(sha256)?;
        let mut h = Sha256::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(<[u8; 32]>::from(h.finalize()) == *sha256)
    }

    /// At start: removes everything in `media/tmp/` (uploads and fetches a crash cut short)
    /// and every file the store has no `local` or `cached` row for. Returns how many files
    /// were removed.
    pub fn sweep(&self, store: &Store) -> Result<usize, StoreError> {
        let mut removed = 0;
        let _ = fs::remove_dir_all(self.root.join(TMP_DIR));
        let Ok(dirs) = fs::read_dir(&self.root) else {
            return Ok(0);
        };
        let mut seen = 0;
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            if name.len() != 2 || !d.path().is_dir() {
                continue;
            }
            let Ok(files) = fs::read_dir(d.path()) else {
                continue;
            };
            for f in files.flatten() {
                seen += 1;
                if seen > MAX_SWEEP {
                    return Ok(removed);
                }
                let rest = f.file_name().to_string_lossy().into_owned();
                let keep = match parse_hex256(&format!("{name}{rest}")) {
                    Some(sha) => store.media_has_file(&sha)?,
                    None => false,
                };
                if !keep && fs::remove_file(f.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}
