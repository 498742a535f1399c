"""Make a known number of calls through toolyard with the Python `mcp` SDK client (streamable
HTTP); print one JSON report with each team run's usage.

Usage: metrics_client.py URL --echo N --team TOOL --team-calls M [--wait-for TOOL]...

Calls `demo__echo` N times, then TOOL M times (one after the other), and reports the `usage`
of each team run. The Rust test (tests/telemetry_metrics.rs) counts these calls in Prometheus.
"""

import argparse
import asyncio
import json

from mcp import Client


async def wait_for_tools(client, names):
    for _ in range(300):
        tools = await client.list_tools(cache_mode="refresh")
        if all(n in [t.name for t in tools.tools] for n in names):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"tools never listed: {names}")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--echo", type=int, default=0)
    parser.add_argument("--team", default="")
    parser.add_argument("--team-calls", type=int, default=0)
    parser.add_argument("--wait-for", action="append", default=[])
    args = parser.parse_args()
    report = {"echo_errors": 0, "usage": []}
    async with Client(args.url, mode="legacy", read_timeout_seconds=30) as client:
        await wait_for_tools(client, args.wait_for)
        for i in range(args.echo):
            r = await client.call_tool("demo__echo", {"message": f"hello {i}"})
            report["echo_errors"] += int(bool(r.is_error))
        for i in range(args.team_calls):
            r = await client.call_tool(args.team, {"task": f"task number {i}"})
            structured = r.structured_content or {}
            report["usage"].append(structured.get("usage"))
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=90))
