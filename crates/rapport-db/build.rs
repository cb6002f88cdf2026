//! `sqlx::migrate!` embeds the migration files at compile time, but Cargo does not know the
//! macro reads them: without this, a new migration is silently missing from the binary until
//! something else makes the crate rebuild.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
