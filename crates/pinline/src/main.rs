//! `pinline`: a self-hosted publishing gateway for Pinterest. This binary is a thin shell: it
//! turns command-line arguments into validated settings and hands them to the library crates.

mod accounts_cmd;
mod alerts_cmd;
mod api_client;
mod campaign_cmd;
mod cli;
mod completions_cmd;
mod config;
mod demo_cmd;
mod doctor_cmd;
mod drafts_cmd;
mod import_cmd;
mod keys_cmd;
mod mcp_cmd;
mod posts_cmd;
mod sandbox_cmd;
mod serve_cmd;
mod terminal;
mod traces;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `pinline bench` and `pinline doctor` log warnings only unless -v: a line per published
    // post would bury the bench's tables (and cost time inside the measurements), and the
    // doctor's report is the whole answer, not the log lines of the steps behind it.
    // `pinline mcp` speaks the protocol on stdout; its logs stay on stderr, warnings only.
    let quiet = matches!(
        cli.command,
        Command::Bench(_) | Command::Doctor(_) | Command::Mcp(_)
    );
    // Traces are for the long-running commands that accept and publish posts.
    let traced = matches!(cli.command, Command::Serve(_) | Command::Demo(_));
    let traces = match init_logging(cli.verbose, quiet, traced) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("error: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve_cmd::run(*args).await,
            Command::Keys(command) => keys_cmd::run(command).await,
            Command::Accounts(command) => accounts_cmd::run(command).await,
            Command::Sandbox(args) => sandbox_cmd::run(args).await,
            Command::Bench(args) => pinline_bench::run_cli(args).await,
            Command::Demo(args) => demo_cmd::run(args).await,
            Command::Doctor(args) => doctor_cmd::run(args).await,
            Command::Post(args) => posts_cmd::run_post(args).await,
            Command::Posts(command) => posts_cmd::run(command).await,
            Command::Draft(args) => drafts_cmd::draft(args).await,
            Command::Drafts(command) => drafts_cmd::run(command).await,
            Command::Campaign(args) => campaign_cmd::run(args).await,
            Command::Import(args) => import_cmd::run(args).await,
            Command::Alerts(command) => alerts_cmd::run(command).await,
            Command::Mcp(args) => mcp_cmd::run(args).await,
            Command::Completions(args) => {
                completions_cmd::run(&args);
                Ok(())
            }
        }
    });
    drop(runtime);
    if let Some(traces) = traces {
        traces.shutdown();
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the level chosen by `-v`. With `traced` and an OTLP
/// endpoint configured, the spans of posts' traces also go to the exporter (see [`traces`]);
/// they never appear in the logs, so switching traces on changes no log line.
fn init_logging(verbose: u8, quiet: bool, traced: bool) -> anyhow::Result<Option<traces::Traces>> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let default = match verbose {
        0 if quiet => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        .add_directive(
            format!("{}=off", pinline_core::trace::TARGET)
                .parse()
                .expect("a valid directive"),
        );
    // Colours only for a person at a terminal, never in a file or a pipe.
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter);
    let traces = if traced {
        traces::Traces::from_env()?
    } else {
        None
    };
    let exported = traces.as_ref().map(traces::Traces::layer);
    tracing_subscriber::registry()
        .with(logs)
        .with(exported)
        .init();
    Ok(traces)
}
