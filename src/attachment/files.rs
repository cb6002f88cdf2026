//! The bytes of attachments, in the data directory: `attachments/<workspace>/<key>`, one file
//! per attachment under a random key. An upload streams into a temporary file beside its final
//! place (hashing and counting on the way, never holding the body in memory), is synced, renamed
//! into place and its directory synced, all before the metadata row commits: a row never names
//! a file that a crash could lose. Files that no row names are found by [`unclaimed`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use rapport_core::WorkspaceId;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::model::SNIFF_BYTES;

const TEMP_PREFIX: &str = ".upload-";

/// Why receiving a file stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the upload was cut off or malformed: {0}")]
    Body(String),
    #[error("storing the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A file received in full and synced, not yet in its final place.
pub struct Staged {
    temp: PathBuf,
    dir: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
    pub text: bool,
}

/// Where a workspace's files are.
fn workspace_dir(root: &Path, workspace: WorkspaceId) -> PathBuf {
    root.join("attachments").join(workspace.get().to_string())
}

/// The file of `key`, if the key is one this module made (hex only: it can name nothing else).
pub fn path_of(root: &Path, workspace: WorkspaceId, key: &str) -> Option<PathBuf> {
    let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| workspace_dir(root, workspace).join(key))
}

/// Tracks whether a stream of bytes is UTF-8 without NUL, across chunk boundaries.
#[derive(Default)]
struct TextCheck {
    pending: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    fn feed(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        self.pending.extend_from_slice(chunk);
        match std::str::from_utf8(&self.pending) {
            Ok(text) => {
                self.failed = text.contains('\0');
                self.pending.clear();
            }
            // A sequence cut at the chunk's end completes with the next one.
            Err(err) if err.error_len().is_none() => {
                let valid = err.valid_up_to();
                self.failed = self.pending[..valid].contains(&0);
                self.pending.drain(..valid);
            }
            Err(_) => self.failed = true,
        }
    }

    fn is_text(&self) -> bool {
        !self.failed && self.pending.is_empty()
    }
}

/// Streams `body` into a new temporary file of the workspace, refusing more than `limit`
/// bytes; on any failure the temporary file is gone.
pub async fn receive<S>(root: &Path, workspace: WorkspaceId, body: S, limit: u64) -> Result<Staged, ReceiveError>
where
    S: Stream<Item = Result<Bytes, ReceiveError>> + Unpin,
{
    let dir = workspace_dir(root, workspace);
    tokio::fs::create_dir_all(&dir).await?;
    let temp = dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    let received = write_temp(&temp, body, limit).await;
    match received {
        Ok((size, sha256, head, text)) => Ok(Staged { temp, dir, size, sha256, head, text }),
        Err(err) => {
            remove_quietly(&temp).await;
            Err(err)
        }
    }
}

async fn write_temp<S>(temp: &Path, mut body: S, limit: u64) -> Result<(u64, String, Vec<u8>, bool), ReceiveError>
where
    S: Stream<Item = Result<Bytes, ReceiveError>> + Unpin,
{
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(temp).await?;
    let (mut size, mut hash, mut head, mut text) = (0_u64, Sha256::new(), Vec::new(), TextCheck::default());
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ReceiveError::TooLarge(limit));
        }
        hash.update(&chunk);
        text.feed(&chunk);
        let room = SNIFF_BYTES.saturating_sub(head.len());
        head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    Ok((size, hex::encode(hash.finalize()), head, text.is_text()))
}

impl Staged {
    /// Drops a file that was refused.
    pub async fn discard(self) {
        remove_quietly(&self.temp).await;
    }

    /// Moves the file to its final place under a new key and makes the move durable.
    pub async fn keep(self) -> Result<String, std::io::Error> {
        let key = uuid::Uuid::new_v4().simple().to_string();
        if let Err(err) = tokio::fs::rename(&self.temp, self.dir.join(&key)).await {
            remove_quietly(&self.temp).await;
            return Err(err);
        }
        tokio::fs::File::open(&self.dir).await?.sync_all().await?;
        Ok(key)
    }
}

/// Removes a kept file; one already gone is no error.
pub async fn remove(root: &Path, workspace: WorkspaceId, key: &str) -> Result<(), std::io::Error> {
    let Some(path) = path_of(root, workspace, key) else { return Ok(()) };
    match tokio::fs::remove_file(path).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

async fn remove_quietly(path: &Path) {
    if let Err(err) = tokio::fs::remove_file(path).await
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %err, "could not remove an attachment's temporary file");
    }
}

/// A file older than the sweep's grace period.
pub enum Stale {
    /// An upload that never finished.
    Temporary(PathBuf),
    /// A kept file: it is an orphan unless a row names it.
    Kept { workspace: WorkspaceId, key: String },
}

/// Files in every workspace folder last changed more than `grace` ago; an upload still
/// running is younger than that.
pub async fn unclaimed(root: &Path, grace: Duration) -> Result<Vec<Stale>, std::io::Error> {
    let base = root.join("attachments");
    let mut found = Vec::new();
    let mut workspaces = match tokio::fs::read_dir(&base).await {
        Ok(dir) => dir,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err),
    };
    let cutoff = SystemTime::now() - grace;
    while let Some(folder) = workspaces.next_entry().await? {
        let Some(workspace) = folder.file_name().to_str().and_then(|n| n.parse().ok()).map(WorkspaceId::new) else {
            continue;
        };
        let mut files = tokio::fs::read_dir(folder.path()).await?;
        while let Some(file) = files.next_entry().await? {
            if file.metadata().await?.modified()? > cutoff {
                continue;
            }
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) {
                found.push(Stale::Temporary(file.path()));
            } else if path_of(root, workspace, &name).is_some() {
                found.push(Stale::Kept { workspace, key: name });
            }
        }
    }
    Ok(found)
}

/// Removes a temporary file the sweep found.
pub async fn remove_temporary(path: &Path) {
    remove_quietly(path).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_recognised_across_chunk_boundaries() {
        let bytes = "Zoë, Ærø; 東京".as_bytes();
        for cut in 0..bytes.len() {
            let mut check = TextCheck::default();
            check.feed(&bytes[..cut]);
            check.feed(&bytes[cut..]);
            assert!(check.is_text(), "cut at {cut}");
        }
        let mut binary = TextCheck::default();
        binary.feed(b"abc\xff");
        assert!(!binary.is_text());
        let mut truncated = TextCheck::default();
        truncated.feed(&"é".as_bytes()[..1]);
        assert!(!truncated.is_text());
    }

    #[test]
    fn only_keys_this_module_makes_name_a_file() {
        let root = Path::new("/data");
        assert!(path_of(root, WorkspaceId::new(1), "../../etc/passwd").is_none());
        assert!(path_of(root, WorkspaceId::new(1), "").is_none());
        assert_eq!(path_of(root, WorkspaceId::new(1), "ab12").unwrap(), PathBuf::from("/data/attachments/1/ab12"));
    }
}
