//! `pinline sandbox`: runs the Pinterest stand-in until Ctrl-C.

use anyhow::Context;
use pinline_sandbox::SandboxConfig;

use crate::cli::SandboxArgs;

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let mut config = SandboxConfig::default();
    if let Some(client_id) = args.client_id {
        config.client_id = client_id;
    }
    if let Some(client_secret) = args.client_secret {
        config.client_secret = client_secret;
    }
    config.redirect_uris = args.redirect_uris;
    config.auto_approve = args.auto_approve;
    config.rates = args.rates;
    config.seed = args.seed;
    config.state_file = args.state;
    config.trial = args.trial;

    let handle = pinline_sandbox::spawn(config.clone(), args.listen)
        .await
        .with_context(|| format!("while starting the sandbox on {}", args.listen))?;
    println!("{}", pinline_sandbox::startup_banner(&handle, &config));
    tokio::signal::ctrl_c()
        .await
        .context("while waiting for Ctrl-C")?;
    eprintln!("stopping the sandbox…");
    handle.shutdown().await;
    Ok(())
}
