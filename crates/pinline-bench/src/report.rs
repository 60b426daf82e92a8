//! Markdown tables, the machine description and appending a run to `docs/BENCHMARKS.md`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::ScenarioResult;

/// A markdown table: a title (`### title`), a header and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are `–`, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), "–".to_owned());
        self.rows.push(cells);
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("### {}\n\n", self.title);
        out.push_str(&format!("| {} |\n", self.columns.join(" | ")));
        out.push_str(&format!(
            "|{}\n",
            self.columns.iter().map(|_| "---|").collect::<String>()
        ));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

/// What the numbers were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub memory: String,
    pub cpu_model: String,
    pub os: String,
    pub commit: Option<String>,
}

impl Machine {
    /// Reads `/proc`, `/etc/os-release` and `git rev-parse` (read-only); unknown parts say so.
    pub fn describe() -> Machine {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or_else(
                || "unknown".to_owned(),
                |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
            );
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let distro = release
            .lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map(|name| name.trim_matches('"').to_owned())
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| format!(", kernel {}", k.trim()))
            .unwrap_or_default();
        Machine {
            cpus,
            memory,
            cpu_model,
            os: format!("{distro}{kernel}"),
            commit: git_commit(),
        }
    }

    /// One line for the terminal and the heading of a run.
    pub fn summary(&self) -> String {
        format!(
            "{} CPUs ({}), {} RAM, {}",
            self.cpus, self.cpu_model, self.memory, self.os
        )
    }
}

fn git_commit() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    Some(if dirty {
        format!("{commit} (with uncommitted changes)")
    } else {
        commit
    })
}

/// The section one run appends: a dated heading, the machine, the command, then every table.
pub fn run_section(
    machine: &Machine,
    command: &str,
    quick: bool,
    results: &[ScenarioResult],
) -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown date".to_owned());
    let mut out = format!(
        "## Run of {date} (UTC){}\n\n",
        if quick { ", quick" } else { "" }
    );
    out.push_str(&format!("- machine: {}\n", machine.summary()));
    out.push_str(&format!(
        "- commit: {}\n",
        machine
            .commit
            .as_deref()
            .unwrap_or("unknown (not a git checkout)")
    ));
    out.push_str(&format!("- command: `{command}`\n"));
    out.push_str(
        "- absolute numbers on a shared machine are noise; read the ratios to the baselines \
         measured in the same run\n\n",
    );
    for result in results {
        for table in &result.tables {
            out.push_str(&table.to_markdown());
            out.push('\n');
        }
        for note in &result.notes {
            out.push_str(&format!("_{}: {note}_\n\n", result.scenario));
        }
        for failure in &result.failures {
            out.push_str(&format!("**goal missed: {failure}**\n\n"));
        }
    }
    out
}

/// Appends one run's section to `path` (created with a title when missing).
pub fn append_run(path: &Path, section: &str) -> Result<()> {
    let exists = path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| {
            format!(
                "cannot open {} to append the results (run from the workspace root, or pass \
                 --no-append)",
                path.display()
            )
        })?;
    if !exists {
        writeln!(file, "# pinline benchmarks\n")?;
    }
    write!(file, "\n{section}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_as_markdown_and_pad_rows() {
        let mut table = Table::new("t", &["a", "b"]);
        table.row(vec!["1".into()]);
        assert_eq!(
            table.to_markdown(),
            "### t\n\n| a | b |\n|---|---|\n| 1 | – |\n"
        );
    }

    #[test]
    fn the_machine_is_described() {
        let machine = Machine::describe();
        assert!(machine.cpus > 0);
        assert!(!machine.summary().is_empty());
    }
}
