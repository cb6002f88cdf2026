//! The load generator: a fixed number of workers, each repeating one operation back to back
//! (closed loop) through a warm-up and then a measured period, with every latency recorded in
//! an HDR histogram. Operations are anything async: a durable write, an HTTP request over a
//! kept-alive loopback connection ([`HttpRequests`]), a query.
//!
//! Any failed operation aborts the run: a benchmark that produced errors measured something
//! else than it claims.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use super::report::{Latency, round};

/// One unit of work a worker repeats.
pub trait Operation: Send + 'static {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// How long to warm up and then measure.
#[derive(Clone, Copy, Debug)]
pub struct Period {
    pub warm_up: Duration,
    pub measure: Duration,
}

/// What the workers did during the measured period.
pub struct Sample {
    pub operations: u64,
    pub seconds: f64,
    pub latency: Latency,
}

/// Latencies from 1 µs to an hour, three significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("creating a latency histogram")
}

/// Runs every worker concurrently for `period` and merges what they measured. Operations that
/// start after the warm-up are counted; a worker starts no operation after the end once it has
/// measured one.
pub async fn drive<O: Operation>(period: Period, workers: Vec<O>) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let (measure_from, end) = (started + period.warm_up, started + period.warm_up + period.measure);
    let mut tasks = Vec::with_capacity(workers.len());
    for mut worker in workers {
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram()?;
            let mut last_done = measure_from;
            loop {
                let began = Instant::now();
                // Each worker measures at least one operation, so that a system slower than the
                // period yields a slow figure rather than none.
                if began >= end && !latencies.is_empty() {
                    break;
                }
                worker.run().await?;
                let done = Instant::now();
                if began >= measure_from {
                    latencies.saturating_record((done - began).as_micros().max(1) as u64);
                    last_done = done;
                }
            }
            anyhow::Ok((latencies, last_done))
        }));
    }
    let mut all = histogram()?;
    let mut finished = measure_from;
    for task in tasks {
        let (latencies, last_done) = task.await.context("a load worker panicked")??;
        all.add(&latencies).context("merging latencies")?;
        finished = finished.max(last_done);
    }
    let seconds = (finished - measure_from).as_secs_f64().max(period.measure.as_secs_f64());
    let ms = |quantile: f64| round(all.value_at_quantile(quantile) as f64 / 1000.0, 3);
    Ok(Sample {
        operations: all.len(),
        seconds,
        latency: Latency { p50: ms(0.50), p95: ms(0.95), p99: ms(0.99), max: round(all.max() as f64 / 1000.0, 3) },
    })
}

/// Requests over one kept-alive HTTP/1.1 connection; `next` builds each request.
pub struct HttpRequests<F> {
    sender: SendRequest<Full<Bytes>>,
    next: F,
}

impl<F> HttpRequests<F>
where
    F: FnMut() -> Request<Full<Bytes>> + Send + 'static,
{
    pub async fn connect(address: SocketAddr, next: F) -> anyhow::Result<Self> {
        let stream =
            tokio::net::TcpStream::connect(address).await.with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { sender, next })
    }
}

impl<F> Operation for HttpRequests<F>
where
    F: FnMut() -> Request<Full<Bytes>> + Send + 'static,
{
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        let request = (self.next)();
        let sender = &mut self.sender;
        async move {
            let (method, uri) = (request.method().clone(), request.uri().clone());
            sender.ready().await.context("the connection closed")?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                anyhow::bail!("{method} {uri} answered {status}: {excerpt}");
            }
            Ok(())
        }
    }
}

/// Builds GET requests for `path` on `address` (checked once, here).
pub fn get(address: SocketAddr, path: &str) -> anyhow::Result<impl FnMut() -> Request<Full<Bytes>> + Send + 'static> {
    let uri: Uri = path.parse().with_context(|| format!("{path} is not a request path"))?;
    let host = HeaderValue::from_str(&address.to_string())?;
    Ok(move || {
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.uri_mut() = uri.clone();
        request.headers_mut().insert(header::HOST, host.clone());
        request
    })
}
