//! The shell: runs statements against the server, keeps client-side state (properties,
//! variables, output format) as ksqlDB's CLI does, and drives the line editor.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use crate::client::{Client, QueryEvent};
use crate::complete::{Names, ShellHelper};
use crate::render::{self, OutputFormat, RowPrinter};
use crate::script::{self, Action};
use crate::ShellError;

const PROMPT: &str = "riffle> ";
const CONTINUATION: &str = "      > ";

const HELP: &str = "\
Statements end with ';' and may span lines. They run on the server, except:
  SET 'property' = 'value';   applies to later statements and queries (e.g. auto.offset.reset)
  UNSET 'property';
  DEFINE name = 'value';      a variable, used as ${name}
  UNDEFINE name;
  RUN SCRIPT 'file.sql';      runs the statements of a file
  OUTPUT [JSON|TABULAR]       shows or sets how results are printed
  HELP                        this text
  EXIT                        leaves the shell (so does Ctrl-D)
Push queries (SELECT ... EMIT CHANGES) print rows as they arrive; Ctrl-C ends the query.
Tab completes keywords, stream, table, column and function names.";

/// What the caller does after a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// The user asked to leave.
    Exit,
}

/// A shell session against one server.
pub struct Shell {
    client: Client,
    rt: tokio::runtime::Runtime,
    properties: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    format: OutputFormat,
    names: Arc<Mutex<Names>>,
    /// Whether completion names are kept fresh (only worth the requests on a terminal).
    track_names: bool,
}

impl Shell {
    /// A session for `client`, printing results as `format`.
    pub fn new(client: Client, format: OutputFormat) -> Result<Shell, ShellError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ShellError::Io)?;
        Ok(Shell {
            client,
            rt,
            properties: BTreeMap::new(),
            variables: BTreeMap::new(),
            format,
            names: Arc::new(Mutex::new(Names::default())),
            track_names: false,
        })
    }

    /// Properties set with `SET`, sent with every later statement and query.
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// Runs a script file; stops at the first failing statement.
    pub fn run_file(
        &mut self,
        path: &Path,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let text = read_script(path)?;
        self.run_text(&text, out, err)
    }

    /// Runs statements from text; stops at the first failing statement. As at the prompt,
    /// shell commands such as `OUTPUT JSON` need no `;` on a line of their own, and a
    /// statement without its final `;` at the end of the text still runs.
    pub fn run_text(
        &mut self,
        text: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let mut buffer = String::new();
        for line in text.lines() {
            if script::split(&buffer).1.is_empty() && script::is_bare_command(line) {
                buffer.clear();
                if self.statement(line, out, err)? == Flow::Exit {
                    return Ok(());
                }
                continue;
            }
            buffer.push_str(line);
            buffer.push('\n');
            let (statements, rest) = script::split(&buffer);
            if statements.is_empty() {
                continue;
            }
            buffer = rest;
            for stmt in statements {
                if self.statement(&stmt, out, err)? == Flow::Exit {
                    return Ok(());
                }
            }
        }
        let rest = script::split(&buffer).1;
        if !rest.is_empty() {
            self.statement(&rest, out, err)?;
        }
        Ok(())
    }

    /// Runs one statement (or shell command).
    pub fn statement(
        &mut self,
        stmt: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Flow, ShellError> {
        match script::classify(stmt).map_err(ShellError::Usage)? {
            Action::Set(k, v) => {
                writeln!(out, "Successfully changed local property '{k}' to '{v}'.")?;
                self.properties.insert(k, v);
            }
            Action::Unset(k) => {
                if self.properties.remove(&k).is_some() {
                    writeln!(out, "Successfully unset local property '{k}'.")?;
                } else {
                    writeln!(out, "Property '{k}' was not set.")?;
                }
            }
            Action::Define(k, v) => {
                self.variables.insert(k, v);
            }
            Action::Undefine(k) => {
                self.variables.remove(&k);
            }
            Action::RunScript(file) => {
                let text = read_script(Path::new(&file))?;
                self.run_text(&text, out, err)?;
            }
            Action::Output(None) => writeln!(out, "Output format: {}", self.format.name())?,
            Action::Output(Some(f)) => {
                self.format = if f == "JSON" {
                    OutputFormat::Json
                } else {
                    OutputFormat::Tabular
                };
                writeln!(out, "Output format set to {}", self.format.name())?;
            }
            Action::Help => writeln!(out, "{HELP}")?,
            Action::Exit => return Ok(Flow::Exit),
            Action::Query => self.query(stmt, out)?,
            Action::Statement => {
                let entities =
                    self.rt
                        .block_on(self.client.ksql(stmt, &self.properties, &self.variables))?;
                for e in &entities {
                    render::entity(out, e, self.format)?;
                }
                if self.track_names && changes_catalog(stmt) {
                    self.refresh_names();
                }
            }
        }
        out.flush()?;
        Ok(Flow::Continue)
    }

    /// Runs a push or pull query, printing rows as they arrive until the server ends the query
    /// or the user presses Ctrl-C.
    fn query(&mut self, sql: &str, out: &mut dyn Write) -> Result<(), ShellError> {
        let client = self.client.clone();
        let format = self.format;
        let (props, vars) = (&self.properties, &self.variables);
        let mut expanded = sql.to_string();
        for (k, v) in vars {
            expanded = expanded.replace(&format!("${{{k}}}"), v);
        }
        let limit = limit(&expanded);
        self.rt.block_on(async move {
            let mut stream = client.query(sql, props, vars).await?;
            let ctrl_c = tokio::signal::ctrl_c();
            tokio::pin!(ctrl_c);
            let mut printer: Option<RowPrinter> = None;
            let mut rows = 0usize;
            loop {
                let event = tokio::select! {
                    ev = stream.next() => ev,
                    _ = &mut ctrl_c => {
                        // Dropping the stream closes the connection, which ends the query on
                        // the server.
                        writeln!(out)?;
                        if let Some(p) = &printer {
                            p.finish(out)?;
                        }
                        writeln!(out, "Query terminated")?;
                        return Ok(());
                    }
                };
                match event? {
                    Some(QueryEvent::Header { columns, types, .. }) => {
                        printer = Some(RowPrinter::start(out, &columns, &types, format)?);
                    }
                    Some(QueryEvent::Row(row)) => {
                        rows += 1;
                        if let Some(p) = &printer {
                            p.row(out, &row)?;
                        }
                    }
                    Some(QueryEvent::Error(message)) => {
                        if let Some(p) = &printer {
                            p.finish(out)?;
                        }
                        return Err(ShellError::Server {
                            message,
                            statement: Some(sql.to_string()),
                            entities: Vec::new(),
                        });
                    }
                    None => {
                        if let Some(p) = &printer {
                            p.finish(out)?;
                        }
                        if is_push(sql) {
                            // The delimited format has no final message; a push query that
                            // ends on its own with as many rows as its LIMIT reached it.
                            if limit == Some(rows) {
                                writeln!(out, "Limit Reached")?;
                            }
                            writeln!(out, "Query terminated")?;
                        }
                        return Ok(());
                    }
                }
            }
        })
    }

    /// Reloads stream, table, column and function names for completion.
    fn refresh_names(&mut self) {
        let none = BTreeMap::new();
        let result = self.rt.block_on(self.client.ksql(
            "DESCRIBE STREAMS; DESCRIBE TABLES; SHOW FUNCTIONS;",
            &none,
            &none,
        ));
        // Servers without DESCRIBE STREAMS still list names.
        let result = match result {
            Ok(e) => Ok(e),
            Err(_) => self.rt.block_on(self.client.ksql(
                "SHOW STREAMS; SHOW TABLES; SHOW FUNCTIONS;",
                &none,
                &none,
            )),
        };
        if let (Ok(entities), Ok(mut names)) = (result, self.names.lock()) {
            *names = Names::from_entities(&entities);
        }
    }

    /// The interactive loop on a terminal: prompt, multi-line statements, history.
    pub fn interactive(
        &mut self,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<(), ShellError> {
        self.track_names = true;
        self.banner(out)?;
        self.refresh_names();
        let color = std::env::var_os("NO_COLOR").is_none()
            && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true);
        let config = Config::builder().auto_add_history(false).build();
        let mut editor: Editor<ShellHelper, DefaultHistory> =
            Editor::with_config(config).map_err(|e| ShellError::Editor(e.to_string()))?;
        editor.set_helper(Some(ShellHelper::new(self.names.clone(), color)));
        let history = history_file();
        if let Some(h) = &history {
            // A missing history file is normal on first use.
            let _ = editor.load_history(h);
        }
        let mut buffer = String::new();
        loop {
            let prompt = if buffer.is_empty() {
                PROMPT
            } else {
                CONTINUATION
            };
            let line = match editor.readline(prompt) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => {
                    // As in ksqlDB's CLI, Ctrl-C at the prompt drops the current input.
                    buffer.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(ShellError::Editor(e.to_string())),
            };
            if buffer.is_empty() && script::is_bare_command(&line) {
                remember(&mut editor, line.trim(), history.as_deref());
                match self.statement(&line, out, err) {
                    Ok(Flow::Exit) => break,
                    Ok(Flow::Continue) => {}
                    Err(e) => report(out, &e)?,
                }
                continue;
            }
            if !buffer.is_empty() {
                buffer.push('\n');
            }
            buffer.push_str(&line);
            let (statements, rest) = script::split(&buffer);
            if statements.is_empty() {
                if rest.is_empty() {
                    buffer.clear();
                }
                continue;
            }
            remember(&mut editor, buffer.trim(), history.as_deref());
            buffer = rest;
            let mut exit = false;
            for stmt in statements {
                match self.statement(&stmt, out, err) {
                    Ok(Flow::Exit) => {
                        exit = true;
                        break;
                    }
                    Ok(Flow::Continue) => {}
                    Err(e) => report(out, &e)?,
                }
            }
            if exit {
                break;
            }
        }
        if let Some(h) = &history {
            if let Err(e) = editor.save_history(h) {
                writeln!(err, "Cannot save history to {}: {e}", h.display())?;
            }
        }
        writeln!(out, "Exiting Riffle shell.")?;
        Ok(())
    }

    /// The greeting: which server, and whether it answers.
    fn banner(&mut self, out: &mut dyn Write) -> Result<(), ShellError> {
        let url = self.client.url().to_string();
        match self.rt.block_on(self.client.info()) {
            Ok(info) => {
                let get = |k: &str| info.get(k).and_then(|v| v.as_str()).unwrap_or("?");
                writeln!(
                    out,
                    "Riffle shell {} — server {url} (version {}, status {})",
                    env!("CARGO_PKG_VERSION"),
                    get("version"),
                    get("serverStatus"),
                )?;
            }
            Err(e) => {
                writeln!(
                    out,
                    "Riffle shell {} — WARNING: {e}",
                    env!("CARGO_PKG_VERSION")
                )?;
            }
        }
        writeln!(
            out,
            "Statements end with ';'. HELP for help, EXIT or Ctrl-D to leave.\n"
        )?;
        Ok(())
    }
}

/// Adds an entry to the history and saves it at once, so that a killed shell loses nothing.
fn remember(editor: &mut Editor<ShellHelper, DefaultHistory>, entry: &str, file: Option<&Path>) {
    // History is a convenience: failing to record it must not disturb the session.
    let _ = editor.add_history_entry(entry);
    if let Some(f) = file {
        let _ = editor.save_history(f);
    }
}

/// Prints an error in the interactive shell (the session goes on).
fn report(out: &mut dyn Write, e: &ShellError) -> Result<(), ShellError> {
    writeln!(out, "{e}")?;
    out.flush()?;
    Ok(())
}

fn read_script(path: &Path) -> Result<String, ShellError> {
    std::fs::read_to_string(path).map_err(|e| ShellError::Script {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// `~/.riffle_history`, or `$RIFFLE_HISTORY` when set.
fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RIFFLE_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".riffle_history"))
}

/// Whether a statement may add or remove sources (so completion names need reloading).
fn changes_catalog(stmt: &str) -> bool {
    let text = script::strip_comments(stmt).to_ascii_uppercase();
    let first = text.split_whitespace().next().unwrap_or("");
    matches!(first, "CREATE" | "DROP" | "TERMINATE" | "ALTER")
}

/// The `LIMIT n` of a query, if any.
fn limit(sql: &str) -> Option<usize> {
    let upper = script::strip_comments(sql).to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let i = words.iter().rposition(|w| *w == "LIMIT")?;
    words.get(i + 1)?.trim_end_matches(';').parse().ok()
}

/// A push query (`EMIT CHANGES`), as opposed to a pull query.
fn is_push(sql: &str) -> bool {
    let upper = script::strip_comments(sql).to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    words
        .windows(2)
        .any(|w| w[0] == "EMIT" && w[1].starts_with("CHANGES"))
        || words.first() == Some(&"PRINT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_kinds_and_limits() {
        assert!(is_push("select * from s emit changes limit 3;"));
        assert!(!is_push("SELECT * FROM T WHERE K = 'EMIT CHANGES';"));
        assert_eq!(limit("SELECT * FROM S EMIT CHANGES LIMIT 3;"), Some(3));
        assert_eq!(limit("SELECT * FROM S EMIT CHANGES;"), None);
        assert!(changes_catalog("-- c\nCREATE STREAM X AS SELECT * FROM S;"));
        assert!(!changes_catalog("SHOW STREAMS;"));
    }
}
