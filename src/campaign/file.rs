//! Opening files named by outside input (a dropped CSV, a manifest, a media
//! file, the client secret file) without trusting what the name points at:
//! only regular files are read, opening never blocks on a FIFO or a device,
//! and whole-file reads are bounded. [`ContentHash`] hashes the very bytes a
//! reader hands on, so what was parsed and what was hashed cannot differ.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

/// The SHA-256 of every byte read through its [`Hashing`] readers, in order.
/// Cloning shares the running hash.
#[derive(Clone, Default)]
pub struct ContentHash(Arc<Mutex<Sha256>>);

impl ContentHash {
    pub fn new() -> ContentHash {
        ContentHash::default()
    }

    /// `inner`, with every byte read from it added to this hash.
    pub fn reader<R: Read>(&self, inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hash: self.clone(),
        }
    }

    /// The digest of the bytes read so far.
    pub fn digest(&self) -> Vec<u8> {
        let hasher = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        hasher.clone().finalize().to_vec()
    }

    fn update(&self, bytes: &[u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(bytes);
    }
}

impl std::fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentHash")
    }
}

/// A reader that adds what it reads to a [`ContentHash`].
pub struct Hashing<R> {
    inner: R,
    hash: ContentHash,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Opens `path` for reading if it is a regular file. A FIFO, socket, device or
/// directory is refused with `InvalidInput` instead of blocking or reading
/// forever.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Opening a FIFO for reading waits for a writer; non-blocking does not.
        // It changes nothing for regular files.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Reads a regular file of at most `max_bytes` bytes as UTF-8 text. A larger
/// file is refused rather than read whole.
pub fn read_text(path: &Path, max_bytes: u64) -> io::Result<String> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max_bytes} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_only_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("a.txt");
        std::fs::write(&small, "hello").unwrap();
        assert_eq!(read_text(&small, 5).unwrap(), "hello");
        let err = read_text(&small, 4).unwrap_err();
        assert!(err.to_string().contains("larger than 4 bytes"), "{err}");
        let err = open_regular(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        std::fs::write(&small, b"\xff\xfe").unwrap();
        assert!(read_text(&small, 10).is_err());
    }

    #[test]
    fn the_hash_is_of_the_bytes_read() {
        let hash = ContentHash::new();
        let mut out = Vec::new();
        hash.reader(&b"hello world"[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(hash.digest(), Sha256::digest(b"hello world").to_vec());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("inbox.csv");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = open_regular(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(read_text(&fifo, 10).is_err());
    }
}
