//! Runs test files like `riffle test` does, without the CLI crate:
//! `cargo run -p riffle-testkit --example qtt -- PATH... [--json-report FILE]`, or
//! `cargo run -p riffle-testkit --example qtt -- --ratchet REPORT PASSING_LIST`.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut report = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json-report" => report = args.next().map(PathBuf::from),
            "--ratchet" => {
                let (Some(r), Some(l)) = (args.next(), args.next()) else {
                    eprintln!("usage: --ratchet REPORT PASSING_LIST");
                    std::process::exit(2);
                };
                std::process::exit(riffle_testkit::run_ratchet_cli(r.as_ref(), l.as_ref()));
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    std::process::exit(riffle_testkit::run_cli(paths, report));
}
