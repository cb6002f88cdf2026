//! `rapport gen --workspace`: a generated data set loaded straight into a workspace of the
//! configured database, checked there, and refused a second time.

#![allow(clippy::unwrap_used)]

mod util;

use util::Binary;

#[tokio::test]
async fn gen_into_a_workspace_loads_people_and_events_whose_users_all_exist_and_refuses_a_second_load() {
    let (binary, _guard) = Binary::on_test_database().await;
    let created = binary
        .run(
            &["admin", "create-workspace", "--name", "Shop", "--owner-email", "o@example.com", "--password-stdin"],
            Some("correct horse battery\n"),
        )
        .await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();

    let args = ["gen", "--workspace", id.as_str(), "--people", "1000", "--events", "12000"];
    let loaded = binary.run(&args, None).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&loaded.stdout), String::from_utf8_lossy(&loaded.stderr));
    assert!(loaded.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("people in the workspace: 1000"), "{stdout}");
    assert!(stdout.contains("events in the workspace: 12000"), "{stdout}");
    assert!(stdout.contains("user ids on events without a person: 0"), "{stdout}");
    assert!(stdout.contains("sanity check passed"), "{stdout}");
    assert!(stderr.contains("rows/s"), "progress names the rate: {stderr}");

    let again = binary.run(&args, None).await;
    assert!(!again.status.success(), "the same data set cannot be loaded twice");
    assert!(String::from_utf8_lossy(&again.stderr).contains("loaded into the workspace before"));
}

#[tokio::test]
async fn gen_into_a_workspace_that_does_not_exist_fails_naming_it() {
    let (binary, _guard) = Binary::on_test_database().await;
    let output = binary.run(&["gen", "--workspace", "99", "--people", "10", "--events", "0"], None).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("workspace 99"));
}
