//! `riffle shell`: a REST client of a Riffle (or ksqlDB) server, interactive on a terminal
//! (line editing, history, completion) or running a script (`-f file.sql`, or statements piped
//! on stdin).
//!
//! | module | job |
//! | --- | --- |
//! | `client` | the REST calls: `/info`, `/ksql`, `/query-stream` |
//! | `render` | ksqlDB-CLI-style tables and streamed rows |
//! | `complete` | completion and highlighting for the line editor |
//! | `repl` | the shell: statements, client-side `SET`/`DEFINE`/`RUN SCRIPT`/`OUTPUT`, the loop |
//! | `script` | splitting text into statements and telling shell commands apart |

#![warn(missing_docs)]

pub mod client;
pub mod complete;
pub mod render;
pub mod repl;
pub mod script;

use std::io::Write;
use std::path::PathBuf;

pub use client::{Client, ServerUrl};
pub use render::OutputFormat;
pub use repl::Shell;

/// Everything that can go wrong in the shell; each renders as one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The server URL cannot be used.
    #[error("Bad server URL {0}")]
    BadUrl(String),
    /// Nothing answers at the server's address.
    #[error(
        "Could not connect to the server at {url} ({reason}). Is `riffle server` running there?"
    )]
    Connect {
        /// The server URL.
        url: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The connection broke during a request or a query.
    #[error("Lost the connection to the server at {url} ({reason})")]
    Disconnected {
        /// The server URL.
        url: String,
        /// What the HTTP layer saw.
        reason: String,
    },
    /// The server refused the statement; `message` is its explanation.
    #[error("{message}")]
    Server {
        /// The server's error message.
        message: String,
        /// The statement it refers to, when the server says.
        statement: Option<String>,
        /// Entities of statements that ran before the failing one.
        entities: Vec<serde_json::Value>,
    },
    /// The server answered something this client cannot read.
    #[error("Unexpected answer from the server: {0}")]
    Protocol(String),
    /// A script file cannot be read.
    #[error("Cannot read script {path}: {reason}")]
    Script {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A shell command was written wrongly.
    #[error("{0}")]
    Usage(String),
    /// Writing to the terminal failed.
    #[error("Cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// The line editor failed.
    #[error("Line editor error: {0}")]
    Editor(String),
}

/// How `riffle shell` was invoked.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server URL, e.g. `http://localhost:8088`.
    pub url: String,
    /// Run this file and exit (`-f`).
    pub file: Option<PathBuf>,
    /// Initial output format.
    pub output: OutputFormat,
}

/// Runs the shell; returns the process exit status (0 on success, 1 when a statement failed
/// in a script or the shell could not start).
///
/// With `options.file`, the file runs and the shell exits; otherwise a terminal on stdin gets
/// the interactive shell and anything else is read as a script.
pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let url = match ServerUrl::parse(&options.url) {
        Ok(u) => u,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let mut shell = match Shell::new(Client::new(url), options.output) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let result = if let Some(file) = &options.file {
        shell.run_file(file, out, err)
    } else if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        shell.interactive(out, err)
    } else {
        let mut text = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            Ok(_) => shell.run_text(&text, out, err),
            Err(e) => Err(ShellError::Script {
                path: "<stdin>".into(),
                reason: e.to_string(),
            }),
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}
