//! A database URL that names neither SQLite nor PostgreSQL is refused before anything is
//! opened or created, so that a typo never starts Rapport on a new, empty database.

use rapport_db::{Db, DbError, DbOptions};

async fn connect_error(url: &str) -> DbError {
    match Db::connect(&DbOptions::new(url)).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(err) => err,
    }
}

#[tokio::test]
async fn a_mysql_url_is_refused() {
    assert!(matches!(connect_error("mysql://x").await, DbError::UnsupportedUrl));
}

#[tokio::test]
async fn a_bare_file_path_is_refused_and_creates_no_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("file.db");

    let err = connect_error(&path.display().to_string()).await;

    assert!(matches!(err, DbError::UnsupportedUrl), "{err:?}");
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("the directory can be listed").count(), 0);
}
