//! The demo workspace: `rapport serve --demo` on an installation without any workspace creates
//! "Demo shop" with its owner and fills it with the sample data set (people with two years of
//! behaviour, see [`crate::gen::load_sample`]), so that someone trying Rapport sees a working
//! shop at once. The owner's password is random and printed once on standard output, never
//! logged. An installation that has a workspace is served as it is: the demo never adds to real
//! data.

use rapport_core::Email;
use rapport_db::Db;

use crate::identity::Password;
use crate::workspace::{NewWorkspace, WorkspaceName};

pub const WORKSPACE_NAME: &str = "Demo shop";
pub const OWNER_EMAIL: &str = "demo@example.com";

/// Creates and fills the demo workspace when the installation has none; says what it did.
pub async fn prepare(db: &Db) -> anyhow::Result<()> {
    if !crate::workspace::needs_setup(db).await? {
        println!("A workspace exists already: --demo serves it as it is and loads no sample data.");
        return Ok(());
    }
    let password = random_password()?;
    let new = NewWorkspace {
        name: WorkspaceName::parse(WORKSPACE_NAME).map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_email: Email::parse(OWNER_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_password: Password::parse(&password)?,
    };
    let created = crate::workspace::create_with_owner(db, new, "system:demo").await?;
    let loaded = crate::r#gen::load_sample(db, created.workspace_id).await?;
    println!();
    println!("{WORKSPACE_NAME} is ready with {} people and {} events.", loaded.people, loaded.events);
    println!("  sign in as:    {OWNER_EMAIL}");
    println!("  password:      {password}   (shown only now)");
    println!();
    Ok(())
}

/// Sixteen random bytes as 32 hex digits: 128 bits, and nothing to mistype but hex.
fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}
