//! Finding Chromium and chromedriver: `RAPPORT_CHROMIUM` and `RAPPORT_CHROMEDRIVER` name them
//! explicitly, otherwise they are looked up on `PATH` (Debian's packages `chromium` and
//! `chromium-driver` install `/usr/bin/chromium` and `/usr/bin/chromedriver`). A machine
//! without them skips browser tests, unless `RAPPORT_REQUIRE_BROWSER=1` demands them.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const CHROMIUM_ENV: &str = "RAPPORT_CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "RAPPORT_CHROMEDRIVER";
pub const REQUIRE_ENV: &str = "RAPPORT_REQUIRE_BROWSER";

const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
const CHROMEDRIVER_NAMES: &[&str] = &["chromedriver"];

pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Tools {
    /// Both programs, or why not.
    pub fn find() -> Result<Self, String> {
        match (locate(CHROMIUM_ENV, CHROMIUM_NAMES), locate(CHROMEDRIVER_ENV, CHROMEDRIVER_NAMES)) {
            (Ok(chromium), Ok(chromedriver)) => Ok(Self { chromium, chromedriver }),
            (Err(reason), Ok(_)) | (Ok(_), Err(reason)) => Err(reason),
            (Err(first), Err(second)) => Err(format!("{first}; {second}")),
        }
    }

    /// Both programs; or, when one is missing, `None` after printing why the test is skipped.
    /// With `RAPPORT_REQUIRE_BROWSER=1` a missing program fails the test instead.
    pub fn find_or_skip() -> Option<Self> {
        match Self::find() {
            Ok(tools) => Some(tools),
            Err(reason) if required() => {
                panic!("browser tests are required ({REQUIRE_ENV}=1) but cannot run: {reason}")
            }
            Err(reason) => {
                // Written to the process's stderr rather than with `eprintln!`, which the test
                // harness captures: a skipped test passes, and the reason must show anyway.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping: {reason} (install chromium and chromium-driver, \
                     or set {REQUIRE_ENV}=1 to make this a failure)"
                );
                None
            }
        }
    }
}

fn required() -> bool {
    matches!(std::env::var(REQUIRE_ENV).as_deref(), Ok("1" | "true" | "yes"))
}

/// The program named by the environment variable `env`, or the first of `names` on `PATH`.
fn locate(env: &str, names: &[&str]) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!("{env}={} is not an executable file", path.display()))
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| format!("{} not found on PATH (set {env} to its path)", names.join(" or ")))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
