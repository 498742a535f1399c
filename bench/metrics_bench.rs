//! What recording the metrics costs on the hot path: the hooks of one served `tools/call` (its
//! `mcp.server.operation.duration`) and of one upstream request (`mcp.client.operation.duration`),
//! timed alone in one process, single-threaded and on 2 threads at once (ns per call, median of
//! 5 rounds of 200,000). The end-to-end figure is bench/gateway.sh.
//!
//! Usage: cargo run --release --example metrics_bench

use std::time::Instant;

use toolyard::telemetry::metrics::{UpstreamLabel, served_request};

const CALLS: u32 = 200_000;

fn one_call(upstream: &UpstreamLabel, i: u32) {
    let mut served = served_request("tools/call", Some("demo__echo"));
    drop(upstream.request("tools/call"));
    if i.is_multiple_of(100) {
        served.failed("tool_error");
    }
}

fn round(threads: u32) -> f64 {
    let upstream = UpstreamLabel::new("demo");
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let upstream = upstream.clone();
            s.spawn(move || {
                for i in 0..CALLS {
                    one_call(&upstream, i);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn median(threads: u32) -> f64 {
    let mut rounds: Vec<f64> = (0..5).map(|_| round(threads)).collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn main() {
    round(1); // instruments made, attribute sets seen
    println!(
        "served tools/call + upstream request hooks: {:.0} ns per call (1 thread), {:.0} ns per call on each of 2 threads",
        median(1),
        median(2)
    );
}
