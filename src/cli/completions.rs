//! `tiktwitch completions SHELL` and `tiktwitch man`: shell completions and the man page,
//! generated from the clap definition itself so they cannot drift from the commands.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

/// Shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// bash: `tiktwitch completions bash > /etc/bash_completion.d/tiktwitch`.
    Bash,
    /// zsh: into a folder of `$fpath`, as `_tiktwitch`.
    Zsh,
    /// fish: `~/.config/fish/completions/tiktwitch.fish`.
    Fish,
    /// PowerShell: `tiktwitch completions powershell | Out-String | Invoke-Expression`.
    Powershell,
    /// elvish.
    Elvish,
}

/// Arguments of `tiktwitch completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub(super) fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
        Shell::Elvish => S::Elvish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tiktwitch", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The roff man page of `tiktwitch` (section 1): `tiktwitch man > tiktwitch.1`.
pub(super) fn man() -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}
