"""Call toolyard workbench tools (agents and teams served as MCP tools) with the Python `mcp`
SDK client; print one JSON report for the Rust test to assert on.

Usage: workbench_client.py (stdio CMD... | http URL | sse URL) --scenario S [options]

Scenarios:
  run           list tools, call --tool with --args; report progress, logs, text, structured
  concurrent    call --tool with --args and --args2 at the same time; report both results
  cancel        call --tool with --args, cancel it after the first progress notification (and
                once --cancel-after-file says "started"), then call --then-tool with
                --then-args on the same session
  list_changed  write --write-file (content --write-text); re-list after each tools/list_changed
                until --expect-tool is listed
"""

import argparse
import asyncio
import json
import os
import time

import anyio
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters

seen_methods = []
logs = []


async def on_message(message):
    method = getattr(message, "method", None)
    if method:
        seen_methods.append(method)


async def on_log(params):
    logs.append({"logger": params.logger, "level": str(params.level), "data": params.data})


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def summary(result):
    structured = result.structured_content or {}
    return {
        "text": text_of(result),
        "is_error": bool(result.is_error),
        "stop_reason": structured.get("stop_reason"),
        "usage": structured.get("usage"),
        "messages": [
            {"source": m.get("source"), "type": m.get("type"), "content": m.get("content")}
            for m in structured.get("messages", [])
        ],
    }


async def call(client, tool, args, progress):
    async def on_progress(p, total, message):
        progress.append({"progress": p, "message": message})

    result = await client.call_tool(tool, args, progress_callback=on_progress)
    return summary(result)


async def scenario_run(client, a, report):
    tools = await client.list_tools()
    # Lists answer at once with the upstreams that are ready; slower ones are announced with
    # list_changed. With --wait-for, wait (bounded) until those tools are listed.
    for _ in range(300):
        if all(n in [t.name for t in tools.tools] for n in a.wait_for):
            break
        await asyncio.sleep(0.1)
        tools = await client.list_tools(cache_mode="refresh")
    report["tools"] = sorted(t.name for t in tools.tools)
    tool = next((t for t in tools.tools if t.name == a.tool), None)
    report["input_schema"] = tool.input_schema if tool else None
    report["has_output_schema"] = bool(tool and tool.output_schema)
    try:
        await client.set_logging_level("info")
    except Exception as e:  # 2026 connections opt in per request instead
        report["set_level_error"] = str(e)
    progress = []
    report["result"] = await call(client, a.tool, json.loads(a.args), progress)
    report["progress"] = progress
    await asyncio.sleep(0.2)
    report["logs"] = logs


async def scenario_concurrent(client, a, report):
    p1, p2 = [], []
    r1, r2 = await asyncio.gather(
        call(client, a.tool, json.loads(a.args), p1),
        call(client, a.tool, json.loads(a.args2), p2),
    )
    report["first"] = r1
    report["second"] = r2
    report["first_progress"] = p1
    report["second_progress"] = p2


async def scenario_cancel(client, a, report):
    started = asyncio.Event()
    progress = []

    async def on_progress(p, total, message):
        progress.append({"progress": p, "message": message})
        started.set()

    async def long_call():
        return await client.call_tool(a.tool, json.loads(a.args), progress_callback=on_progress)

    task = asyncio.create_task(long_call())
    await asyncio.wait_for(started.wait(), timeout=30)
    if a.cancel_after_file:  # wait until the upstream call is under way
        for _ in range(300):
            if os.path.exists(a.cancel_after_file) and "started" in open(a.cancel_after_file).read():
                break
            await asyncio.sleep(0.1)
    t0 = time.monotonic()
    task.cancel()
    try:
        await task
        report["cancelled"] = False
    except asyncio.CancelledError:
        report["cancelled"] = True
    report["progress_before_cancel"] = progress
    if a.then_tool:
        r = await client.call_tool(a.then_tool, json.loads(a.then_args))
        report["then"] = summary(r)
    report["after_cancel_seconds"] = time.monotonic() - t0


async def scenario_list_changed(client, a, report):
    before = sorted(t.name for t in (await client.list_tools()).tools)
    mark = len(seen_methods)
    with open(a.write_file, "w") as f:
        f.write(a.write_text)
    # Upstreams may send list_changed of their own: re-list after each one until the new tool
    # shows up (or time runs out).
    after, handled = before, mark
    for _ in range(200):
        notices = [m for m in seen_methods[handled:] if m == "notifications/tools/list_changed"]
        if notices:
            handled = len(seen_methods)
            after = sorted(t.name for t in (await client.list_tools(cache_mode="refresh")).tools)
            if a.expect_tool in after:
                break
        await asyncio.sleep(0.05)
    report["before"] = before
    report["after"] = after
    report["notified"] = "notifications/tools/list_changed" in seen_methods[mark:]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http", "sse"])
    parser.add_argument("target", nargs="+")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--mode", default="legacy")
    parser.add_argument("--tool", default="")
    parser.add_argument("--args", default="{}")
    parser.add_argument("--args2", default="{}")
    parser.add_argument("--then-tool", default="")
    parser.add_argument("--then-args", default="{}")
    parser.add_argument("--cancel-after-file", default="")
    parser.add_argument("--write-file", default="")
    parser.add_argument("--write-text", default="")
    parser.add_argument("--expect-tool", default="")
    parser.add_argument("--wait-for", action="append", default=[])
    a = parser.parse_args()
    if a.transport == "stdio":
        server = StdioServerParameters(command=a.target[0], args=a.target[1:], env=dict(os.environ))
    elif a.transport == "http":
        server = a.target[0]
    else:
        server = sse_client(a.target[0])
    client = Client(
        server,
        mode=a.mode,
        message_handler=on_message,
        logging_callback=on_log,
        log_level="info",
        read_timeout_seconds=60,
    )
    report = {}
    async with client:
        report["protocol_version"] = client.protocol_version
        await {
            "run": scenario_run,
            "concurrent": scenario_concurrent,
            "cancel": scenario_cancel,
            "list_changed": scenario_list_changed,
        }[a.scenario](client, a, report)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=120))
