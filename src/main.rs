//! The `toolyard` command line: serve, tools, call, check.

mod cli;

/// mimalloc hands memory back to the system soon after it is freed (glibc's malloc keeps most of
/// it): RSS falls again once sessions end or are parked, and allocation-heavy JSON work is
/// quicker (bench/gateway.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(args));
    // Everything the command started has been awaited; what may remain is a blocking read of
    // stdin (`serve --stdio` stopped by a signal), which cannot be cancelled and would keep a
    // normal runtime shutdown waiting for input that never comes.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: many errors already show their
/// source in their own message, and `{:#}` would repeat it.
fn report(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
