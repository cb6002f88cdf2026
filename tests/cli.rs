//! The `rapport` executable as an operator uses it: configuration errors, first run, admin
//! commands against a running server, backup and restore, graceful shutdown.

#![allow(clippy::unwrap_used)]

mod util;

use std::time::Duration;

use util::Binary;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn binary() -> (Binary, Option<impl Drop>) {
    Binary::on_test_database().await
}

#[tokio::test]
async fn a_bad_configuration_value_fails_with_status_2_naming_the_key() {
    let binary = Binary::new();
    let cases = [
        ("RAPPORT_LISTEN", "not-an-address", "listen"),
        ("RAPPORT_JOBS__CONCURRENCY", "many", "jobs.concurrency"),
        ("RAPPORT_DATABASE_URL", "mysql://localhost/db", "database_url"),
        ("RAPPORT_DATABASE_URL", "rapport.db", "database_url"),
        ("RAPPORT_HTTP__NO_SUCH_KEY", "1", "http.no_such_key"),
    ];
    for (key, value, named) in cases {
        let mut command = binary.command();
        command.env(key, value).arg("migrate");
        let output = command.output().await.unwrap();
        assert_eq!(output.status.code(), Some(2), "{key}={value}: {}", stderr(&output));
        assert!(stderr(&output).contains(&format!("{named}:")), "{key}={value}: {}", stderr(&output));
    }
    assert!(!binary.dir().join("rapport.db").exists(), "no database was created from a bad URL");
}

#[tokio::test]
async fn a_bad_value_in_the_configuration_file_names_the_key() {
    let binary = Binary::new();
    std::fs::write(binary.dir().join("rapport.toml"), "[database]\nmax_connections = \"lots\"\n").unwrap();
    let output = binary.run(&["migrate"], None).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("database.max_connections"), "{}", stderr(&output));
}

#[tokio::test]
async fn default_config_prints_a_template_the_binary_accepts() {
    let binary = Binary::new();
    let output = binary.run(&["default-config"], None).await;
    assert!(output.status.success());
    let template = stdout(&output);
    assert!(template.contains("listen = \"127.0.0.1:8080\""));
    std::fs::write(binary.dir().join("rapport.toml"), &template).unwrap();
    let migrated = binary.run(&["migrate"], None).await;
    assert!(migrated.status.success(), "{}", stderr(&migrated));
}

#[tokio::test]
async fn version_prints_the_package_version() {
    let output = Binary::new().run(&["version"], None).await;
    assert_eq!(stdout(&output).trim(), format!("rapport {}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn the_first_run_serves_health_and_prints_a_setup_link_and_the_cli_creates_a_workspace_alongside() {
    let (binary, _guard) = binary().await;
    let server = binary.serve().await;
    let health = reqwest::get(format!("{}/healthz", server.url)).await.unwrap();
    assert_eq!(health.status(), 200);
    let link = server.setup_link.clone().expect("a setup link is printed on first run");
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);

    let created = binary
        .run(
            &["admin", "create-workspace", "--name", "Acme", "--owner-email", "ops@example.com", "--password-stdin"],
            Some("correct horse battery\n"),
        )
        .await;
    assert!(created.status.success(), "{}", stderr(&created));
    let id: i64 = stdout(&created).trim().parse().expect("the workspace id is printed");
    assert!(id > 0);

    let again = binary
        .run(
            &["admin", "create-workspace", "--name", "Other", "--owner-email", "OPS@example.com", "--password-stdin"],
            Some("correct horse battery\n"),
        )
        .await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    server.stop().await;
}

#[tokio::test]
async fn sigterm_shuts_the_server_down_cleanly() {
    let (binary, _guard) = binary().await;
    let mut server = binary.serve().await;
    let pid = server.child.id().unwrap();
    std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    let status =
        tokio::time::timeout(Duration::from_secs(30), server.child.wait()).await.expect("it stops in time").unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn backup_and_restore_on_postgresql_point_to_pg_dump_and_exit_2() {
    let mut binary = Binary::new();
    binary.env.push(("RAPPORT_DATABASE_URL".into(), "postgres://nobody@127.0.0.1:1/none".into()));
    for args in [&["backup", "x.db"][..], &["restore", "x.db"][..]] {
        let output = binary.run(args, None).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
    }
}

#[tokio::test]
async fn restore_refuses_a_database_in_use_and_an_existing_one_without_force() {
    let binary = Binary::new();
    let server = binary.serve().await;
    let backup = binary.dir().join("backup.db");
    let made = binary.run(&["backup", backup.to_str().unwrap()], None).await;
    assert!(made.status.success(), "{}", stderr(&made));
    let refused = binary.run(&["restore", backup.to_str().unwrap(), "--force"], None).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("in use"), "{}", stderr(&refused));
    server.stop().await;

    let without_force = binary.run(&["restore", backup.to_str().unwrap()], None).await;
    assert_eq!(without_force.status.code(), Some(2));
    assert!(stderr(&without_force).contains("--force"), "{}", stderr(&without_force));
    let restored = binary.run(&["restore", backup.to_str().unwrap(), "--force"], None).await;
    assert!(restored.status.success(), "{}", stderr(&restored));
}

#[tokio::test]
async fn a_restored_backup_holds_the_data_taken_before_it() {
    let binary = Binary::new();
    let created = binary
        .run(
            &["admin", "create-workspace", "--name", "Before", "--owner-email", "a@example.com", "--password-stdin"],
            Some("correct horse battery"),
        )
        .await;
    assert!(created.status.success(), "{}", stderr(&created));
    let backup = binary.dir().join("backup.db");
    assert!(binary.run(&["backup", backup.to_str().unwrap()], None).await.status.success());
    let after = binary
        .run(
            &["admin", "create-workspace", "--name", "After", "--owner-email", "b@example.com", "--password-stdin"],
            Some("correct horse battery"),
        )
        .await;
    assert!(after.status.success());
    let again = binary.run(&["backup", backup.to_str().unwrap()], None).await;
    assert_eq!(again.status.code(), Some(2), "an existing backup file is never overwritten");

    assert!(binary.run(&["restore", backup.to_str().unwrap(), "--force"], None).await.status.success());
    let recreated = binary
        .run(
            &["admin", "create-workspace", "--name", "After", "--owner-email", "b@example.com", "--password-stdin"],
            Some("correct horse battery"),
        )
        .await;
    assert!(recreated.status.success(), "the user created after the backup is gone: {}", stderr(&recreated));
    let duplicate = binary
        .run(
            &["admin", "create-workspace", "--name", "Before", "--owner-email", "a@example.com", "--password-stdin"],
            Some("correct horse battery"),
        )
        .await;
    assert!(!duplicate.status.success(), "the user created before the backup is still there");
}

#[tokio::test]
async fn restore_refuses_a_file_that_is_not_a_sound_sqlite_database() {
    let binary = Binary::new();
    let junk = binary.dir().join("junk.db");
    std::fs::write(&junk, b"this is not a database").unwrap();
    let output = binary.run(&["restore", junk.to_str().unwrap(), "--force"], None).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[tokio::test]
async fn rapport_import_maps_creates_fields_reports_refused_rows_and_resumes_nothing_twice() {
    let (binary, _guard) = binary().await;
    let created = binary
        .run(
            &["admin", "create-workspace", "--name", "Acme", "--owner-email", "owner@acme.example", "--password-stdin"],
            Some("correct horse battery\n"),
        )
        .await;
    assert!(created.status.success(), "{}", stderr(&created));
    let workspace = stdout(&created).trim().to_owned();
    let file = binary.dir().join("contacts.csv");
    std::fs::write(
        &file,
        "Record ID,First Name,Surname,E-mail,Loyalty tier\nh-1,Ada,Lovelace,ada@example.com,gold\n\
         h-2,Grace,Hopper,not-an-email,silver\nh-3,Alan,Turing,alan@example.com,\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let imported = binary
        .run(
            &[
                "import",
                "--workspace",
                &workspace,
                "--file",
                file,
                "--map",
                "Surname=last_name",
                "--external-id-column",
                "Record ID",
                "--create-fields",
            ],
            None,
        )
        .await;
    assert!(imported.status.success(), "{}", stderr(&imported));
    let summary = stdout(&imported);
    assert!(summary.contains("done: 3 rows, created 2, updated 0, unchanged 0, refused 1"), "{summary}");
    assert!(stderr(&imported).contains("Loyalty tier             -> loyalty_tier"), "{}", stderr(&imported));
    let report = summary.lines().find_map(|l| l.strip_prefix("error report: ")).expect("the report's path");
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.contains("2,E-mail,"), "{report}");

    let again = binary
        .run(
            &[
                "import",
                "--workspace",
                &workspace,
                "--file",
                file,
                "--external-id-column",
                "Record ID",
                "--mode",
                "upsert",
            ],
            None,
        )
        .await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("created 0, updated 0, unchanged 2, refused 1"), "{}", stdout(&again));
    let unknown = binary.run(&["import", "--workspace", &workspace, "--file", file, "--map", "Nope=email"], None).await;
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no column \"Nope\""), "{}", stderr(&unknown));
}
