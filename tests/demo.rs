//! `rapport serve --demo`: a first run that creates the demo shop with sample data and prints
//! its owner's password once, and a later run that leaves an existing workspace alone.

#![allow(clippy::unwrap_used)]

mod util;

use util::Binary;

/// Signs in over HTTP with the form the login page posts; returns the session cookie.
async fn sign_in(client: &reqwest::Client, url: &str, email: &str, password: &str) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("email", email), ("password", password)])
        .finish();
    let response = client
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signing in as {email}");
    response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn serve_demo_on_an_empty_installation_creates_the_demo_shop_whose_owner_sees_its_people() {
    let (binary, _guard) = Binary::on_test_database().await;
    let server = binary.serve_with(&["--demo"]).await;
    let password = server
        .printed
        .iter()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the owner's password is printed")
        .to_owned();
    assert!(password.len() >= 16, "a long random password: {password}");
    assert!(server.setup_link.is_none(), "a workspace exists, so no setup link is printed");

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookie = sign_in(&client, &server.url, "demo@example.com", &password).await;
    let people = client.get(format!("{}/people", server.url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(people.status(), 200);
    let html = people.text().await.unwrap();
    assert!(html.contains("People <span class=\"muted\">(2000)</span>"), "the sample people are listed");
    assert!(html.contains("href=\"/people/"), "each person links to their page");
    server.stop().await;

    let again = binary.serve_with(&["--demo"]).await;
    assert!(
        again.printed.iter().any(|line| line.contains("A workspace exists already")),
        "a second run says it serves the existing workspace: {:?}",
        again.printed
    );
    assert!(!again.printed.iter().any(|line| line.trim().starts_with("password:")), "no new password");
    again.stop().await;
}
