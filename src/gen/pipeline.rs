//! Producing large data sets from many threads in constant memory: work is cut into numbered
//! chunks, every core generates chunks, and the calling thread consumes them strictly in chunk
//! order (writing byte buffers to the output files, or rows to the database). Workers may run at
//! most a small window of chunks ahead of the consumer, so memory stays bounded however many
//! rows are asked for, and the result does not depend on the number of threads.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// What one chunk produced: a buffer per output file and how many rows it counts for progress.
pub struct Chunk {
    pub buffers: Vec<Vec<u8>>,
    pub rows: u64,
}

/// An output file and the header its first line gets.
pub struct Output {
    writer: BufWriter<File>,
    pub bytes: u64,
}

impl Output {
    pub fn create(path: &Path, header: &str) -> io::Result<Self> {
        let mut writer = BufWriter::with_capacity(1 << 20, File::create(path)?);
        writer.write_all(header.as_bytes())?;
        Ok(Self { writer, bytes: header.len() as u64 })
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.writer.flush()?;
        self.writer.get_ref().sync_all()?;
        Ok(self.bytes)
    }

    fn write(&mut self, buffer: &[u8]) -> io::Result<()> {
        self.bytes += buffer.len() as u64;
        self.writer.write_all(buffer)
    }
}

/// A progress bar on standard error showing rows per second and the time left (hidden when
/// standard error is not a terminal).
pub fn progress(label: &str, total: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>12} [{bar:30}] {human_pos:>11}/{human_len:11} {per_sec:>14} ETA {eta:>4} {elapsed:>4}",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(total).with_style(style).with_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `work` for chunks `0..chunks` on every core and appends each chunk's buffers, in chunk
/// order, to `outputs` (buffer `i` to output `i`).
pub fn write_in_order<W>(outputs: &mut [Output], chunks: u64, bar: &ProgressBar, work: W) -> io::Result<()>
where
    W: Fn(u64) -> io::Result<Chunk> + Sync,
{
    in_order(chunks, work, |chunk: Chunk| {
        for (output, buffer) in outputs.iter_mut().zip(&chunk.buffers) {
            output.write(buffer)?;
        }
        bar.inc(chunk.rows);
        Ok(())
    })
}

/// Runs `work` for chunks `0..chunks` on every core and hands each result to `consume` on the
/// calling thread, strictly in chunk order. The first error from either side stops the run.
pub fn in_order<T, E, W, C>(chunks: u64, work: W, mut consume: C) -> Result<(), E>
where
    T: Send,
    E: Send,
    W: Fn(u64) -> Result<T, E> + Sync,
    C: FnMut(T) -> Result<(), E>,
{
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let window = threads as u64 * 4;
    let next = AtomicU64::new(0);
    // How many chunks the consumer has finished; `u64::MAX` tells workers to stop.
    let consumed = Mutex::new(0u64);
    let advanced = Condvar::new();
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<Result<(u64, T), E>>(window as usize);
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, consumed, advanced, work) = (&next, &consumed, &advanced, &work);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= chunks {
                        return;
                    }
                    let mut done = consumed.lock().unwrap_or_else(PoisonError::into_inner);
                    while *done != u64::MAX && index >= *done + window {
                        done = advanced.wait(done).unwrap_or_else(PoisonError::into_inner);
                    }
                    if *done == u64::MAX {
                        return;
                    }
                    drop(done);
                    if sender.send(work(index).map(|result| (index, result))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let result = collect(receiver, &mut consume, |count| {
            *consumed.lock().unwrap_or_else(PoisonError::into_inner) = count;
            advanced.notify_all();
        });
        if result.is_err() {
            *consumed.lock().unwrap_or_else(PoisonError::into_inner) = u64::MAX;
            advanced.notify_all();
        }
        result
    })
}

fn collect<T, E>(
    receiver: mpsc::Receiver<Result<(u64, T), E>>,
    consume: &mut impl FnMut(T) -> Result<(), E>,
    on_consumed: impl Fn(u64),
) -> Result<(), E> {
    let mut pending = BTreeMap::new();
    let mut expected = 0;
    for received in receiver {
        let (index, result) = received?;
        pending.insert(index, result);
        while let Some(result) = pending.remove(&expected) {
            consume(result)?;
            expected += 1;
            on_consumed(expected);
        }
    }
    Ok(())
}

/// A CSV writer into memory for one chunk, without headers (the output file has them).
pub fn csv_buffer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new())
}

/// The bytes of a chunk's CSV writer.
pub fn csv_bytes(writer: csv::Writer<Vec<u8>>) -> io::Result<Vec<u8>> {
    writer.into_inner().map_err(|err| err.into_error())
}
