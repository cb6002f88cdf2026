//! Bearer secrets (session ids, API tokens): 256 random bits, carrying their workspace id in
//! clear so that lookups are by (workspace, hash) and stay on one shard. Only the SHA-256 of a
//! secret is stored; the secret itself is shown once.

use rapport_core::WorkspaceId;
use sha2::{Digest, Sha256};

/// `PREFIX_WORKSPACE_RANDOM`, e.g. `rpt_12_9f…`.
pub(crate) fn generate(prefix: &str, workspace: WorkspaceId) -> Result<String, getrandom::Error> {
    random(&format!("{prefix}_{workspace}"))
}

/// `PREFIX_RANDOM`: a secret that belongs to no workspace, such as a link sent to a user.
pub(crate) fn random(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

/// The link an email carries to `path` with `token`, on the address the installation is
/// reached at.
pub(crate) fn emailed_link(public_url: &str, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", public_url.trim_end_matches('/'))
}

/// The workspace a presented secret claims, if it has the right shape; its hash is then looked
/// up in that workspace only.
pub(crate) fn workspace_of(prefix: &str, secret: &str) -> Option<WorkspaceId> {
    let rest = secret.strip_prefix(prefix)?.strip_prefix('_')?;
    let (workspace, random) = rest.split_once('_')?;
    if random.len() != 64 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    workspace.parse().ok()
}

/// What may be shown of a secret to recognise it: its prefix and workspace, and the first
/// eight of its 64 random characters.
pub(crate) fn visible_prefix(secret: &str) -> String {
    secret.chars().take(secret.len() - 56).collect()
}

pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_names_its_workspace_and_a_forged_shape_does_not() {
        let secret = generate("rpt", WorkspaceId::new(42)).expect("randomness");
        assert_eq!(workspace_of("rpt", &secret), Some(WorkspaceId::new(42)));
        assert_eq!(workspace_of("rps", &secret), None);
        assert_eq!(workspace_of("rpt", "rpt_42_short"), None);
        assert_ne!(hash(&secret), secret);
    }
}
