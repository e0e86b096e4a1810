//! Not implemented yet.

use std::process::ExitCode;

/// Arguments (not implemented yet).
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not implemented yet")
}
