//! `pinline serve` child processes for the scenarios that need more than one process (stampede,
//! schedule, chaos): started from the `pinline` executable on a free loopback port against the
//! scenario's database and sandbox, killed when dropped (`kill_on_drop`), so every exit path of a
//! scenario that unwinds — an error, a panic — takes its children with it. (Ctrl-C in a terminal
//! reaches the children too, through the process group; a bench killed by a signal aimed at it
//! alone leaves them running.)
//!
//! Each child's stderr is read to its end: the "serving" line tells when it is ready, and lines
//! naming the events a scenario checks (`post.fenced_out`, errors) are counted into a
//! [`LogTally`] that outlives the process, so a killed replica's lines still count.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The `pinline` executable to run as `pinline serve`: the running executable when it is
/// `pinline` (the CLI; through `/proc/self/exe` where there is one), else `PINLINE_BENCH_EXE`, else `pinline` in the target directory above a
/// test binary (`target/<profile>/deps/…`). `None` when there is none.
pub fn pinline_exe() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINLINE_BENCH_EXE") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    // Linux names a replaced executable `pinline (deleted)`; `/proc/self/exe` still runs the
    // very image the bench runs, even after a rebuild overwrote the file.
    let name = exe.file_name()?.to_string_lossy().into_owned();
    if name == "pinline" || name == "pinline (deleted)" {
        let own_image = PathBuf::from("/proc/self/exe");
        return Some(if own_image.exists() { own_image } else { exe });
    }
    let sibling = exe.parent()?.parent()?.join("pinline");
    sibling.is_file().then_some(sibling)
}

/// Why a process scenario is skipped when [`pinline_exe`] finds nothing.
pub const NO_EXE: &str = "skipped: needs the `pinline` binary (run it as `pinline bench`, or set \
                          PINLINE_BENCH_EXE)";

/// What every replica of one scenario shares.
#[derive(Debug, Clone)]
pub struct ReplicaSpec {
    pub exe: PathBuf,
    /// `PINLINE_DATABASE_URL`.
    pub database_url: String,
    /// `PINLINE_MASTER_KEY` (64 hex digits).
    pub master_key: String,
    /// The sandbox's API base and consent page.
    pub pinterest_api_url: String,
    pub pinterest_oauth_url: String,
    /// Further environment (`PINLINE_QUEUE_LEASE_SECS`, `PINLINE_PINTEREST_RATES`, …).
    pub env: Vec<(String, String)>,
}

/// Counts of log lines that matter to a scenario, across all replicas (dead ones included).
#[derive(Debug, Default)]
pub struct LogTally {
    /// Lines with `post.fenced_out`.
    pub fenced_out: AtomicU64,
    /// Lines logged at ERROR level.
    pub errors: AtomicU64,
    /// Panics.
    pub panics: AtomicU64,
    /// SQL statements the process ran, when it logs them (`RUST_LOG=sqlx::query=debug`: one
    /// line per statement, target `sqlx::query`; SQLite's `BEGIN`/`COMMIT` are not among them).
    pub statements: AtomicU64,
    /// Publisher claims, and claims that found nothing, when it logs them
    /// (`RUST_LOG=pinline_queue::worker=debug`).
    pub claims: AtomicU64,
    pub empty_claims: AtomicU64,
}

impl LogTally {
    fn count(&self, line: &str) {
        if line.contains("post.fenced_out") {
            self.fenced_out.fetch_add(1, Ordering::Relaxed);
        }
        if line.contains(" ERROR ") {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if line.contains("panicked at") {
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
        if line.contains(" sqlx::query: ") {
            self.statements.fetch_add(1, Ordering::Relaxed);
        }
        if line.contains(CLAIM_EVENT) {
            self.claims.fetch_add(1, Ordering::Relaxed);
            if line.contains(" found=0 ") {
                self.empty_claims.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub fn claims(&self) -> u64 {
        self.claims.load(Ordering::Relaxed)
    }

    pub fn empty_claims(&self) -> u64 {
        self.empty_claims.load(Ordering::Relaxed)
    }

    pub fn fenced_out(&self) -> u64 {
        self.fenced_out.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }
}

/// How the publisher's per-claim debug line starts (`event = "post.claim"`).
const CLAIM_EVENT: &str = "event=\"post.claim\" ";

/// One running `pinline serve`.
#[derive(Debug)]
pub struct Replica {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// This replica's own counts.
    pub log: Arc<LogTally>,
}

impl Replica {
    /// Starts `pinline serve` and waits (at most 60 s) until it says it is serving. Its log
    /// lines are counted into `tally` (shared by a scenario's replicas) and its own
    /// [`Replica::log`].
    pub async fn start(spec: &ReplicaSpec, tally: Arc<LogTally>) -> Result<Replica> {
        let port = free_port()?;
        let base_url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(&spec.exe)
            .arg("serve")
            .env_clear()
            .env("PINLINE_DATABASE_URL", &spec.database_url)
            .env("PINLINE_MASTER_KEY", &spec.master_key)
            .env("PINLINE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PINLINE_PUBLIC_URL", &base_url)
            .env(
                "PINTEREST_CLIENT_ID",
                pinline_sandbox::config::DEFAULT_CLIENT_ID,
            )
            .env(
                "PINTEREST_CLIENT_SECRET",
                pinline_sandbox::config::DEFAULT_CLIENT_SECRET,
            )
            .env("PINTEREST_API_URL", &spec.pinterest_api_url)
            .env("PINTEREST_OAUTH_URL", &spec.pinterest_oauth_url)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .envs(pinline_outbound::loopback_child_env())
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("while starting {} serve", spec.exe.display()))?;
        let pid = child.id().context("the replica exited at once")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let own = Arc::new(LogTally::default());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let (shared, mine) = (tally, own.clone());
        // Read stderr to its end, whether or not anyone waits: a full pipe would block the child.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut ready = Some(ready_tx);
            let mut last_lines: Vec<String> = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("pinline is serving on")
                    && let Some(ready) = ready.take()
                {
                    let _ = ready.send(());
                }
                shared.count(&line);
                mine.count(&line);
                if ready.is_some() {
                    last_lines.push(line);
                }
            }
            if ready.is_some() {
                eprintln!(
                    "a pinline serve replica stopped before serving:\n{}",
                    last_lines.join("\n")
                );
            }
        });
        match tokio::time::timeout(Duration::from_secs(60), ready_rx).await {
            Ok(Ok(())) => Ok(Replica {
                child,
                pid,
                base_url,
                log: own,
            }),
            Ok(Err(_)) => bail!("pinline serve exited before serving (see its output above)"),
            Err(_) => bail!("pinline serve did not start within 60 s"),
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(mut self) -> Result<()> {
        self.child.start_kill().context("SIGKILL a replica")?;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        Ok(())
    }

    /// SIGSTOP: the process freezes where it is (its leases run out; its sockets stay open).
    pub fn stop(&self) -> Result<()> {
        signal(self.pid, "STOP")
    }

    /// SIGCONT after [`Replica::stop`].
    pub fn resume(&self) -> Result<()> {
        signal(self.pid, "CONT")
    }

    /// CPU time the process has used so far, user and system, all threads (`utime + stime`
    /// of `/proc/PID/stat`).
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(&format!("/proc/{}/stat", self.pid))
    }

    /// The process's peak resident set (`VmHWM`), bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        peak_rss_of(&format!("/proc/{}/status", self.pid))
    }
}

/// `VmHWM` of a `/proc/…/status` file, bytes.
pub fn peak_rss_of(status_path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// `utime + stime` of a `/proc/…/stat` file.
pub fn cpu_time_of(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second() as f64,
    ))
}

/// `CLK_TCK`, the unit of `/proc/…/stat` times (from `getconf`, as the workspace forbids the
/// `unsafe` of `sysconf`); 100, Linux's value nearly everywhere, when that fails.
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&ticks| ticks > 0)
            .unwrap_or(100)
    })
}

/// Sends a signal with `kill(1)` (the workspace forbids `unsafe`, so no raw `libc::kill`).
fn signal(pid: u32, name: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("while running kill -{name} {pid}"))?;
    if !status.success() {
        bail!("kill -{name} {pid} failed: {status}");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Creates an API key for the bench profile (`pinline keys create`, in process).
pub async fn api_key(store: &pinline_store::Store, name: &str) -> Result<String> {
    Ok(
        pinline_server::api_keys::create_api_key(store, "bench", name, 0)
            .await?
            .key,
    )
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_rss_of_this_process_is_read() {
        let rss = peak_rss_of("/proc/self/status").expect("VmHWM on Linux");
        assert!(rss > 1024 * 1024, "{rss}");
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5 MiB");
    }

    #[test]
    fn log_lines_are_tallied() {
        let tally = LogTally::default();
        tally.count("2026 WARN pinline_queue: event=\"post.fenced_out\" …");
        tally.count("2026 ERROR pinline_queue: boom");
        assert_eq!(
            (tally.fenced_out(), tally.errors(), tally.panics()),
            (1, 1, 0)
        );
        tally.count("2026 DEBUG sqlx::query: summary=\"SELECT (SELECT …\" rows_returned=1");
        tally.count("2026 DEBUG pinline_queue::worker: event=\"post.claim\" found=0 claims=1");
        tally.count("2026 DEBUG pinline_queue::worker: event=\"post.claim\" found=3 claims=2");
        tally.count("2026 ERROR pinline_queue::worker: event=\"post.claim_failed\" …");
        assert_eq!(
            (tally.statements(), tally.claims(), tally.empty_claims()),
            (1, 2, 1)
        );
    }

    #[test]
    fn the_cpu_time_of_this_process_is_read() {
        let spent = cpu_time_of("/proc/self/stat").expect("utime and stime on Linux");
        let busy = std::time::Instant::now();
        let mut x = 0u64;
        while busy.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        let later = cpu_time_of("/proc/self/stat").expect("again");
        assert!(later > spent, "{spent:?} → {later:?}");
    }
}
