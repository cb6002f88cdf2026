//! What a benchmark report says about where it ran: the machine (cores, memory, CPU, kernel,
//! from `/proc`), the source revision, and the peak resident memory of a process (`VmHWM`).
//! On systems without `/proc` the figures are absent rather than invented.

use std::process::Command;

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub cpu: Option<String>,
    pub kernel: Option<String>,
}

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let processors = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
        let cores = if processors > 0 {
            processors
        } else {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        };
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, name)| name.trim().to_owned());
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| kib_field(&m, "MemTotal:"));
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|k| k.trim().to_owned());
        Self { cores, memory_bytes, cpu, kernel }
    }

    /// `2 cores, 23.4 GiB` for tables.
    pub fn summary(&self) -> String {
        match self.memory_bytes {
            Some(bytes) => format!("{} cores, {:.1} GiB", self.cores, bytes as f64 / (1u64 << 30) as f64),
            None => format!("{} cores", self.cores),
        }
    }
}

/// The peak resident set size of process `pid` so far, in bytes.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    kib_field(&status, "VmHWM:")
}

fn kib_field(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The checked-out commit, and whether the working tree differs from it; `unknown` outside a
/// Git checkout.
pub fn git_revision() -> (String, bool) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(revision) if !revision.is_empty() => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            (revision, dirty)
        }
        _ => ("unknown".to_owned(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::{Machine, kib_field, peak_rss_bytes};

    #[test]
    fn this_machine_has_cores_and_this_process_has_a_peak() {
        let machine = Machine::describe();
        assert!(machine.cores >= 1);
        if cfg!(target_os = "linux") {
            assert!(machine.memory_bytes.is_some_and(|m| m > 0));
            assert!(peak_rss_bytes(std::process::id()).is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn kib_fields_are_read_as_bytes() {
        assert_eq!(kib_field("Name:\tx\nVmHWM:\t  1234 kB\n", "VmHWM:"), Some(1234 * 1024));
        assert_eq!(kib_field("Name:\tx\n", "VmHWM:"), None);
    }
}
