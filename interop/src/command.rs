//! Running external programs. Every docker, debootstrap and tar call goes
//! through [`run`] or [`run_with_input`], which turn a non-zero exit into an
//! [`Error::CommandFailed`] with the command line and its stderr, so callers
//! only ever see `Result<String>` holding stdout.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

fn describe(program: &str, arguments: &[&str]) -> String {
    let mut line = program.to_string();
    for argument in arguments {
        line.push(' ');
        line.push_str(argument);
    }
    line
}

fn finish(command: String, output: std::process::Output) -> Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(Error::CommandFailed {
        command,
        status: output.status.to_string(),
        stderr: if stderr.is_empty() {
            stdout.trim().to_string()
        } else {
            stderr
        },
    })
}

/// Runs `program arguments...` to completion and returns its stdout.
pub fn run(program: &str, arguments: &[&str]) -> Result<String> {
    let command = describe(program, arguments);
    let output = Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    finish(command, output)
}

/// Runs `program arguments...` with `input` on its stdin and returns its stdout.
pub fn run_with_input(program: &str, arguments: &[&str], input: &[u8]) -> Result<String> {
    let command = describe(program, arguments);
    let mut child = Command::new(program)
        .args(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    }
    let output = child.wait_with_output().map_err(|source| Error::Spawn {
        command: command.clone(),
        source,
    })?;
    finish(command, output)
}

/// Runs a shell pipeline (`sh -c`); used only where a pipe between two
/// programs is the point, such as `tar | docker import`.
pub fn run_shell(script: &str) -> Result<String> {
    run("sh", &["-c", script])
}
