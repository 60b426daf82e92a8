//! Faults where tokens are made, for the chaos run: the sandbox's token endpoint holding a
//! request, answering 500, stalling past the client's timeout, or rotating the refresh token and
//! then dropping the connection; and the process whose token request the sandbox holds, found by
//! the request's peer port, so it can be SIGKILLed inside its refresh.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

/// How long pinline waits for any Pinterest answer (`pinline_pinterest::client::REQUEST_TIMEOUT`);
/// a token request held longer times out.
const CLIENT_TIMEOUT: Duration = pinline_pinterest::client::REQUEST_TIMEOUT;

/// The faults of every run, on the calls that publish: failed, rate-limited and dropped creates,
/// failed adoption searches, latency spikes.
fn publishing_rules() -> Vec<Value> {
    vec![
        json!({"operation": "pins/create", "kind": "error", "status": 503, "share": 0.05}),
        json!({"operation": "pins/create", "kind": "rate_limit", "retry_after_secs": 1, "share": 0.05}),
        json!({"operation": "pins/create", "kind": "drop_after_create", "share": 0.01}),
        json!({"operation": "boards/list_pins", "kind": "error", "status": 503, "share": 0.05}),
        json!({"path_prefix": "/v5", "kind": "delay", "delay_ms": 700, "share": 0.02}),
    ]
}

/// A token-endpoint fault with an exact count, so what fired can be counted afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFault {
    /// Held `ms` at the sandbox, then answered normally: the window for a SIGKILL.
    Hold { ms: u64 },
    /// 500 in Pinterest's error shape; nothing rotated.
    Error500,
    /// Held past the client's timeout; the client gives up before anything is rotated.
    Timeout,
    /// Rotated, then the connection drops: the client keeps a dead refresh token.
    RotateThenDrop,
}

impl TokenFault {
    fn rule(self, count: u64) -> Value {
        match self {
            TokenFault::Hold { ms } => json!({
                "operation": "oauth/token", "kind": "delay", "delay_ms": ms, "count": count
            }),
            TokenFault::Error500 => json!({
                "operation": "oauth/token", "kind": "error", "status": 500, "code": 500,
                "message": "Injected fault: internal error.", "count": count
            }),
            TokenFault::Timeout => json!({
                "operation": "oauth/token", "kind": "delay",
                "delay_ms": CLIENT_TIMEOUT.as_millis() as u64 + 2_000, "count": count
            }),
            TokenFault::RotateThenDrop => json!({
                "operation": "oauth/token", "kind": "drop_after_create", "count": count
            }),
        }
    }
}

/// Token faults fired so far, by kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenFaultCounts {
    pub held: u64,
    pub errors_500: u64,
    pub timeouts: u64,
    pub rotations_dropped: u64,
}

impl TokenFaultCounts {
    /// Failures injected (holds are only delays).
    pub fn faults(&self) -> u64 {
        self.errors_500 + self.timeouts + self.rotations_dropped
    }

    pub fn describe(&self) -> String {
        format!(
            "{} × 500, {} timeouts, {} rotations dropped",
            self.errors_500, self.timeouts, self.rotations_dropped
        )
    }
}

/// The sandbox's fault rules: the publishing faults always, token faults armed by count. Each
/// change first reads what the previous token rules consumed, so every token fault that fired
/// is counted.
#[derive(Debug)]
pub struct SandboxFaults {
    http: reqwest::Client,
    sandbox: String,
    armed: Vec<(TokenFault, u64)>,
    pub fired: TokenFaultCounts,
    seed: u64,
}

impl SandboxFaults {
    pub fn new(http: &reqwest::Client, sandbox: &str) -> SandboxFaults {
        SandboxFaults {
            http: http.clone(),
            sandbox: sandbox.to_owned(),
            armed: Vec::new(),
            fired: TokenFaultCounts::default(),
            seed: 7,
        }
    }

    /// Replaces the token faults with `token` (the publishing faults stay).
    pub async fn arm(&mut self, token: &[(TokenFault, u64)]) -> Result<()> {
        self.count_fired().await?;
        // Token rules first: a request they match is decided by them, and a fresh seed per
        // change keeps the shares of the publishing rules repeatable from one run to the next.
        let mut rules: Vec<Value> = token.iter().map(|(f, n)| f.rule(*n)).collect();
        rules.extend(publishing_rules());
        self.seed += 1;
        self.http
            .post(format!("{}/_sandbox/faults", self.sandbox))
            .json(&json!({ "seed": self.seed, "rules": rules }))
            .send()
            .await?
            .error_for_status()
            .context("setting the sandbox's faults")?;
        self.armed = token.to_vec();
        Ok(())
    }

    /// Clears every rule, counting what fired.
    pub async fn clear(&mut self) -> Result<()> {
        self.count_fired().await?;
        self.armed.clear();
        self.http
            .delete(format!("{}/_sandbox/faults", self.sandbox))
            .send()
            .await?
            .error_for_status()
            .context("clearing the sandbox's faults")?;
        Ok(())
    }

    /// Adds what the armed token rules consumed (their counts, as the sandbox reports them left).
    async fn count_fired(&mut self) -> Result<()> {
        if self.armed.is_empty() {
            return Ok(());
        }
        let current: Value = self
            .http
            .get(format!("{}/_sandbox/faults", self.sandbox))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let rules = current["rules"].as_array().cloned().unwrap_or_default();
        for (index, (fault, armed)) in self.armed.iter().enumerate() {
            let left = rules
                .get(index)
                .and_then(|rule| rule["count"].as_u64())
                .unwrap_or(*armed);
            let fired = armed.saturating_sub(left);
            match fault {
                TokenFault::Hold { .. } => self.fired.held += fired,
                TokenFault::Error500 => self.fired.errors_500 += fired,
                TokenFault::Timeout => self.fired.timeouts += fired,
                TokenFault::RotateThenDrop => self.fired.rotations_dropped += fired,
            }
        }
        Ok(())
    }
}

/// The process among `pids` that owns the loopback TCP socket whose local port is `port`: the
/// sandbox reports a request's peer address, and the peer's side of that connection is a socket
/// in exactly one process. Read from `/proc/net/tcp{,6}` (socket inodes by local port) and each
/// process's `/proc/PID/fd` (its sockets' inodes); `None` when not on Linux or not found.
pub fn owner_of_port(port: u16, pids: &[u32]) -> Option<u32> {
    let mut sockets = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if local_port == Some(port)
                && let Some(inode) = fields.get(9)
            {
                sockets.insert(format!("socket:[{inode}]"));
            }
        }
    }
    if sockets.is_empty() {
        return None;
    }
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                std::fs::read_link(entry.path())
                    .is_ok_and(|target| sockets.contains(&*target.to_string_lossy()))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_a_connection_is_found_by_its_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let port = client.local_addr().expect("addr").port();
        let me = std::process::id();
        assert_eq!(owner_of_port(port, &[1, me]), Some(me));
        assert_eq!(owner_of_port(port, &[1]), None);
    }
}
