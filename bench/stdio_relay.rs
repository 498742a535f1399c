//! The floor for a stdio hop: a process that copies bytes between its stdio and a child's, with
//! two blocking threads and no parsing. gateway_bench measures the demo server through it, so
//! the cost of one more process on the path is known on the machine at hand.

use std::io::{Read, Write};
use std::process::{Command, ExitCode, Stdio};

fn copy(mut from: impl Read, mut to: impl Write) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() || to.flush().is_err() {
            break;
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: stdio_relay PROGRAM [ARGS...]");
        return ExitCode::FAILURE;
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            eprintln!("stdio_relay: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (Some(child_in), Some(child_out)) = (child.stdin.take(), child.stdout.take()) else {
        return ExitCode::FAILURE;
    };
    let back = std::thread::spawn(move || copy(child_out, std::io::stdout().lock()));
    copy(std::io::stdin().lock(), child_in);
    let _ = child.wait();
    let _ = back.join();
    ExitCode::SUCCESS
}
