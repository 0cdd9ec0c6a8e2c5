//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! It exists so that everything derived from `openapi.yaml` is produced by one reviewed program
//! instead of by hand: `cargo xtask codegen` rewrites the generated files and
//! `cargo xtask codegen --check` fails, with a diff, when the committed ones are stale.
//! `cargo xtask bench` builds and runs the benchmarks.

mod alternatives;
mod api_version;
mod bench;
mod codegen;
mod contract;
mod envelopes;
mod files;
mod open_enums;
mod operations;
mod replacements;
mod rules;
mod sandbox_api;
mod secrets;
mod servers;
mod spec;
mod tidy;
mod wire_types;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen [--check] [-v]   regenerate the client crate from openapi.yaml
                           --check  fail if the committed files are stale instead of writing them
                           -v       with --check, print a diff of what is stale
  bench [download|link|auth|calls|cli]... [--link-size 4G] [--link-rate 25M] [--link-latency 20ms]
                           build in release mode and print the benchmark figures, all of them
                           or the sections named (see BENCHMARKS.md); needs curl and about
                           5 GiB of free disk; valgrind, when installed, adds instruction counts;
                           the flags change the emulated link's archive and link (`link`: that
                           case alone)
";

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen", flags @ ..] => parse_codegen_flags(flags).and_then(codegen::run),
        ["bench", sections @ ..] => bench::run(sections),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(anyhow::anyhow!("unknown command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_codegen_flags(flags: &[&str]) -> anyhow::Result<codegen::Mode> {
    let mut mode = codegen::Mode::Write;
    let mut verbose = false;
    for flag in flags {
        match *flag {
            "--check" => mode = codegen::Mode::Check { verbose: false },
            "-v" | "--verbose" => verbose = true,
            other => anyhow::bail!("unknown flag `{other}` for codegen\n\n{USAGE}"),
        }
    }
    if let codegen::Mode::Check { verbose: v } = &mut mode {
        *v = verbose;
    }
    Ok(mode)
}
