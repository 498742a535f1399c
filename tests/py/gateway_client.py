"""Drive toolyard's downstream face with the Python `mcp` SDK client; print one JSON report.

Usage: gateway_client.py (stdio CMD... | http URL | sse URL) [--mode legacy|auto]

The scenario lists tools, calls an echo tool, calls it with invalid arguments, runs a tool that
reports progress, relays a sampling and an elicitation request (answered here), reads a resource,
gets a prompt and calls an unknown tool. Every outcome goes into the report; the Rust test asserts.
"""

import argparse
import asyncio
import json
import sys

from mcp import Client, types
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters


async def sampling(context, params):
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="sampled by the python client"),
        model="python-test-model",
        stop_reason="endTurn",
    )


async def elicitation(context, params):
    return types.ElicitResult(action="accept", content={"name": "Ada"})


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def attempt(report, key, coro):
    try:
        report[key] = await coro
    except Exception as e:  # report, don't crash: the test asserts on what happened
        report[key] = {"exception": f"{type(e).__name__}: {e}"}


seen_methods = []


async def on_message(message):
    method = getattr(message, "method", None)
    if method:
        seen_methods.append(method)


async def wait_for_tools(client, names):
    """Lists answer at once with the upstreams that are ready; slower ones are announced with
    list_changed. Wait (bounded) until the tools the scenario needs are listed."""
    for _ in range(300):
        tools = await client.list_tools(cache_mode="refresh")
        if all(n in [t.name for t in tools.tools] for n in names):
            return tools
        await asyncio.sleep(0.1)
    return tools


async def scenario(client, prefix, wait_for):
    report = {"protocol_version": client.protocol_version}
    tools = await wait_for_tools(client, wait_for)
    report["tools"] = sorted(t.name for t in tools.tools)
    report["execution"] = {
        t.name: t.execution.task_support for t in tools.tools if getattr(t, "execution", None) is not None
    }

    async def echo():
        r = await client.call_tool(f"{prefix}echo", {"message": "hello"})
        return {"text": text_of(r), "is_error": bool(r.is_error)}

    async def invalid():
        r = await client.call_tool(f"{prefix}echo", {"message": 42})
        return {"text": text_of(r), "is_error": bool(r.is_error)}

    async def progress():
        seen = []

        async def on_progress(progress, total, message):
            seen.append(progress)

        r = await client.call_tool(
            "everything__trigger-long-running-operation",
            {"duration": 0.3, "steps": 3},
            progress_callback=on_progress,
        )
        return {"text": text_of(r), "progress": seen}

    async def sample():
        r = await client.call_tool("everything__trigger-sampling-request", {"prompt": "hi", "maxTokens": 10})
        return {"text": text_of(r), "is_error": bool(r.is_error)}

    async def elicit():
        r = await client.call_tool("everything__trigger-elicitation-request", {})
        return {"text": text_of(r), "is_error": bool(r.is_error)}

    async def unknown():
        r = await client.call_tool("no_such_tool", {})
        return {"text": text_of(r), "is_error": bool(r.is_error)}

    async def resource():
        r = await client.read_resource("demo://readme")
        return {"text": "".join(getattr(c, "text", "") for c in r.contents)}

    async def list_changed():
        before = len(seen_methods)
        await client.call_tool(f"{prefix}touch_tools", {})
        for _ in range(50):
            if "notifications/tools/list_changed" in seen_methods[before:]:
                break
            await asyncio.sleep(0.1)
        tools = await client.list_tools(cache_mode="refresh")
        return {
            "notified": "notifications/tools/list_changed" in seen_methods[before:],
            "touched_listed": f"{prefix}touched" in [t.name for t in tools.tools],
        }

    async def prompt():
        r = await client.get_prompt("demo__greet", {"name": "Ada"})
        return {"text": " ".join(getattr(m.content, "text", "") for m in r.messages)}

    await attempt(report, "echo", echo())
    await attempt(report, "invalid", invalid())
    if "everything__trigger-long-running-operation" in report["tools"]:
        await attempt(report, "progress", progress())
        await attempt(report, "sampling", sample())
        await attempt(report, "elicitation", elicit())
    await attempt(report, "unknown", unknown())
    await attempt(report, "resource", resource())
    await attempt(report, "prompt", prompt())
    await attempt(report, "list_changed", list_changed())
    return report


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http", "sse"])
    parser.add_argument("target", nargs="+")
    parser.add_argument("--mode", default="legacy")
    parser.add_argument("--prefix", default="demo__")
    parser.add_argument("--wait-for", action="append", default=[])
    args = parser.parse_args()
    if args.transport == "stdio":
        server = StdioServerParameters(command=args.target[0], args=args.target[1:])
    elif args.transport == "http":
        server = args.target[0]
    else:
        server = sse_client(args.target[0])
    client = Client(
        server,
        mode=args.mode,
        sampling_callback=sampling,
        elicitation_callback=elicitation,
        message_handler=on_message,
        read_timeout_seconds=30,
    )
    async with client:
        report = await scenario(client, args.prefix, args.wait_for)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=60))
