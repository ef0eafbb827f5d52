//! `riffle shell`: driven in a real terminal (tmux), with `-f` and with stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, ksql, start_server};

/// A tmux session on a private tmux server, killed on drop.
struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Runs `riffle shell URL` in a 120x50 terminal with HOME in `home`.
    fn shell(home: &Path, url: &str) -> Tmux {
        let socket = format!("riffle-test-{}", free_port());
        let t = Tmux {
            socket,
            session: "shell".into(),
        };
        let cmd = format!(
            "env HOME='{}' RIFFLE_HISTORY='{}' TERM=xterm '{}' shell {url}",
            home.display(),
            home.join("history").display(),
            env!("CARGO_BIN_EXE_riffle")
        );
        let status = t
            .tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                &t.session,
                "-x",
                "120",
                "-y",
                "50",
                &cmd,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session");
        // Keep the screen after the shell exits, to check its last words.
        let _ = t
            .tmux()
            .args(["set-option", "-t", &t.session, "remain-on-exit", "on"])
            .status();
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Types a line and presses Enter. A trailing `;` is escaped: tmux would read it as a
    /// command separator.
    fn line(&self, text: &str) {
        let literal = match text.strip_suffix(';') {
            Some(t) => format!("{t}\\;"),
            None => text.to_string(),
        };
        let ok = self
            .tmux()
            .args(["send-keys", "-t", &self.session, "-l", &literal])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "send-keys");
        self.key("Enter");
    }

    fn key(&self, key: &str) {
        let _ = self
            .tmux()
            .args(["send-keys", "-t", &self.session, key])
            .status();
    }

    /// The whole screen, scrollback included.
    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-S", "-", "-t", &self.session])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen holds `needle` `times` times; returns the screen.
    fn wait_for(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.matches(needle).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?} x{times}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// The screen from the last occurrence of `start` on.
fn after<'a>(screen: &'a str, start: &str) -> &'a str {
    screen.rfind(start).map(|i| &screen[i..]).unwrap_or("")
}

#[test]
fn shell_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start_server(&dir.path().join("data"), port);
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "-- a script\nCREATE STREAM OTHER (V INT) WITH (KAFKA_TOPIC='other', VALUE_FORMAT='JSON', PARTITIONS=1);\nSHOW STREAMS;\n",
    )
    .unwrap();
    let t = Tmux::shell(dir.path(), &format!("http://127.0.0.1:{port}"));
    t.wait_for("riffle> ", 1);

    // A statement over two lines.
    t.line("CREATE STREAM ORDERS (ID STRING KEY, AMOUNT DOUBLE, NOTE STRING)");
    // As a person would, type the second line once the continuation prompt shows.
    t.wait_for("      > ", 1);
    t.line("  WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);");
    let screen = t.wait_for("riffle> ", 2);
    assert!(
        screen.contains(
            "riffle> CREATE STREAM ORDERS (ID STRING KEY, AMOUNT DOUBLE, NOTE STRING)\n      >   WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);\n Message\n----------------\n Stream created\n----------------\nriffle> "
        ),
        "{screen}"
    );

    t.line("SET 'auto.offset.reset' = 'earliest';");
    t.wait_for(
        "Successfully changed local property 'auto.offset.reset' to 'earliest'.",
        1,
    );
    t.line("INSERT INTO ORDERS (ID, AMOUNT, NOTE) VALUES ('a', 1.5, 'first');");
    t.line("INSERT INTO ORDERS (ID, AMOUNT, NOTE) VALUES ('b', 2.5, 'second');");
    t.wait_for("riffle> ", 5);

    // A push query: rows appear as they arrive, also rows inserted after it started.
    t.line("SELECT * FROM ORDERS EMIT CHANGES;");
    t.wait_for("|second", 1);
    ksql(
        port,
        "INSERT INTO ORDERS (ID, AMOUNT, NOTE) VALUES ('c', 3.5, 'live');",
    );
    let screen = t.wait_for("|live", 1);
    let rule = "+--------------------+--------------+--------------------+";
    assert!(
        after(&screen, "riffle> SELECT * FROM ORDERS EMIT CHANGES;").starts_with(&format!(
            "riffle> SELECT * FROM ORDERS EMIT CHANGES;\n{rule}\n\
             |ID                  |AMOUNT        |NOTE                |\n{rule}\n\
             |a                   |1.5           |first               |\n\
             |b                   |2.5           |second              |\n\
             |c                   |3.5           |live                |\n"
        )),
        "{screen}"
    );
    // Ctrl-C ends the query, not the shell.
    t.key("C-c");
    let screen = t.wait_for("riffle> ", 6);
    assert!(
        after(&screen, "|live").contains(&format!("{rule}\nQuery terminated\nriffle> ")),
        "{screen}"
    );

    // A pull query: the matching rows as a table, then the prompt.
    t.line("SELECT * FROM ORDERS WHERE ID = 'a';");
    t.wait_for("riffle> ", 7);
    let screen = t.screen();
    let answer = after(&screen, "riffle> SELECT * FROM ORDERS WHERE ID = 'a';");
    assert!(
        answer.starts_with(&format!(
            "riffle> SELECT * FROM ORDERS WHERE ID = 'a';\n{rule}\n\
             |ID                  |AMOUNT        |NOTE                |\n{rule}\n\
             |a                   |1.5           |first               |\n{rule}\n"
        )),
        "{answer}"
    );
    assert!(!screen.contains("panicked"), "{screen}");

    // Errors carry the server's message.
    t.line("DESCRIBE NOPE;");
    let screen = t.wait_for("riffle> ", 8);
    assert!(
        after(&screen, "riffle> DESCRIBE NOPE;").starts_with(
            "riffle> DESCRIBE NOPE;\nCould not find STREAM/TABLE 'NOPE' in the Metastore\nriffle> "
        ),
        "{screen}"
    );

    // A script.
    t.line(&format!("RUN SCRIPT '{}';", script.display()));
    let screen = t.wait_for("riffle> ", 9);
    let rule = "-".repeat(90);
    assert!(
        screen.contains(&format!(
            " Message\n----------------\n Stream created\n----------------\n \
             Stream Name         | Kafka Topic                 | Key Format | Value Format | Windowed\n{rule}\n \
             KSQL_PROCESSING_LOG | default_ksql_processing_log | KAFKA      | JSON         | false\n \
             ORDERS              | orders                      | KAFKA      | JSON         | false\n \
             OTHER               | other                       | KAFKA      | JSON         | false\n{rule}\nriffle> "
        )),
        "{screen}"
    );

    // Completion from the server's catalog.
    t.line("DESCRIBE OTH\t;");
    t.wait_for("Name                 : OTHER", 1);

    t.line("exit");
    t.wait_for("Exiting Riffle shell.", 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("history").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap_or_default();
    assert!(history.contains("DESCRIBE NOPE;"), "{history}");
    server.kill().ok();
    server.wait().ok();
}

fn shell(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .arg("shell")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("riffle shell starts");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    }
    child.wait_with_output().expect("riffle shell ends")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn shell_scripts_and_stdin_set_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start_server(&dir.path().join("data"), port);
    let url = format!("http://127.0.0.1:{port}");
    let good = dir.path().join("good.sql");
    std::fs::write(
        &good,
        "CREATE STREAM S (ID STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\n\
         INSERT INTO S (ID, V) VALUES ('x', 1);\nINSERT INTO S (ID, V) VALUES ('y', 2);\n\
         SET 'auto.offset.reset' = 'earliest';\nDEFINE lim = '2';\n\
         SELECT ID, V FROM S EMIT CHANGES LIMIT ${lim};\n",
    )
    .unwrap();
    let out = shell(&[&url, "-f", good.to_str().unwrap()], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let rule = "+--------------------+------------+";
    assert!(
        stdout.ends_with(&format!(
            "{rule}\n|ID                  |V           |\n{rule}\n\
             |x                   |1           |\n|y                   |2           |\n{rule}\nLimit Reached\nQuery terminated\n"
        )),
        "{stdout}"
    );

    // The first failing statement stops the script with status 1 and the server's message.
    let bad = dir.path().join("bad.sql");
    std::fs::write(&bad, "SHOW STREAMS;\nDESCRIBE NOPE;\nSHOW TOPICS;\n").unwrap();
    let out = shell(&[&url, "-f", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains(" S "), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("Kafka Topic | Partitions"));
    assert_eq!(
        text(&out.stderr),
        "Could not find STREAM/TABLE 'NOPE' in the Metastore\n"
    );

    // Statements piped on stdin.
    let out = shell(&[&url], Some("SHOW STREAMS;\nOUTPUT JSON\nSHOW STREAMS;"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(" Stream Name ") && stdout.contains("\"@type\": \"streams\""),
        "{stdout}"
    );
    let out = shell(
        &[&url],
        Some(
            "SHOW STREAMS;\nCREATE STREAM S (V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\n",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    // A dropped connection in the middle of a push query: one line, status 1.
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["shell", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut input) = child.stdin.take() {
        input.write_all(b"SELECT * FROM S EMIT CHANGES;\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.kill().ok();
    server.wait().ok();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!("Lost the connection to the server at {url} ("))
            && stderr.lines().count() == 1,
        "{stderr}"
    );

    // A server that is down, a bad URL: one line each, status 1.
    let out = shell(&[&url], Some("SHOW STREAMS;"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("Could not connect to the server at {url} (Connection refused (os error 111)). Is `riffle server` running there?\n")
    );
    let out = shell(
        &["http://localhost:http", "-f", good.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "Bad server URL 'http://localhost:http': the port is not a number\n"
    );
}
