//! `pinline completions SHELL`: shell completion scripts.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Settings of `pinline completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs) {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut command, "pinline", &mut std::io::stdout());
}
