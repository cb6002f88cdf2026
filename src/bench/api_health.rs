//! `api-health`: `GET /healthz` on the real server over loopback at 32 kept-alive connections.
//! The handler touches no database, so this is the floor of every HTTP scenario: what the
//! middleware stack, the HTTP implementation and the load generator cost on this machine.

use super::load::{HttpRequests, drive, get};
use super::report::{Measurement, Report, Run};
use super::server::Server;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "api-health",
    summary: "GET /healthz on the real server over loopback at 32 connections: the HTTP floor",
    run: |cx| Box::pin(run(cx)),
};

const CONNECTIONS: usize = 32;

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let server = Server::start(&cx.target).await?;
    let measured = measure(cx, &server).await;
    let peak_rss = server.peak_rss();
    server.stop().await?;
    let sample = measured?;
    let measurement = Measurement::new("GET /healthz", "rapport serve", "requests", sample.operations, sample.seconds)
        .with_concurrency(CONNECTIONS)
        .with_latency(sample.latency)
        .with_peak_rss(peak_rss, "rapport serve");
    Report::new(cx, SCENARIO.name, vec![Run::alone(measurement)], 0)
}

async fn measure(cx: &Context, server: &Server) -> anyhow::Result<super::load::Sample> {
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(HttpRequests::connect(server.address, get(server.address, "/healthz")?).await?);
    }
    drive(cx.scale.period(), connections).await
}
