//! Running the package clients (`pip`, `npm`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Why a [`Runner`] could not run a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunnerFailure {
    /// The program is not installed (not found on `PATH`).
    NotFound,
    /// The program ran and failed, or could not be started; the string
    /// says how (e.g. "exit status: 1").
    Failed(String),
}

/// Runs a package client. The default, [`SystemRunner`], spawns the real
/// program; tests substitute a fake that writes a small package instead.
pub trait Runner: Send + Sync {
    /// Runs `program` with `args` in the directory `cwd`, passing the
    /// program's output through to stderr.
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<(), RunnerFailure>;
}

/// Spawns the real program. Its stderr is inherited, and its stdout goes
/// to our stderr too, so stdout stays clean for the caller's own output.
/// On Unix the child writes to our stderr directly: when that is a
/// terminal, `pip` draws its download progress bar there.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<(), RunnerFailure> {
        let mut child = match Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout_to_stderr())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RunnerFailure::NotFound)
            }
            Err(e) => return Err(RunnerFailure::Failed(format!("cannot start: {e}"))),
        };
        if let Some(stdout) = child.stdout.take() {
            let stderr = std::io::stderr();
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(mut line) = line else { break };
                line.push(b'\n');
                let _ = stderr.lock().write_all(&line);
            }
        }
        match child.wait() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(RunnerFailure::Failed(status.to_string())),
            Err(e) => Err(RunnerFailure::Failed(format!("cannot wait: {e}"))),
        }
    }
}

/// Where a child's stdout goes: our own stderr where it can be shared,
/// else a pipe that [`SystemRunner::run`] copies to stderr.
#[cfg(unix)]
fn stdout_to_stderr() -> Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::piped(),
    }
}

#[cfg(not(unix))]
fn stdout_to_stderr() -> Stdio {
    Stdio::piped()
}
