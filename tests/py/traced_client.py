"""Call one toolyard tool with the Python `mcp` SDK client, each call carrying its own W3C
`traceparent` in `params._meta`; print one JSON report for the Rust test to assert on.

Usage: traced_client.py (http URL | sse URL | stdio CMD...) --tool T --args JSON
                        --traceparent TP [--traceparent TP2 ...]

With several --traceparent values the calls run at the same time on separate sessions (two
callers at once); the report lists each call's text and error flag in the same order.
"""

import argparse
import asyncio
import json
import os

from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def target(args):
    if args.transport == "http":
        return args.target[0]
    if args.transport == "sse":
        return sse_client(args.target[0])
    # The SDK gives a stdio server a minimal environment; the OTEL_* variables must reach it.
    return StdioServerParameters(
        command=args.target[0], args=args.target[1:], env=dict(os.environ)
    )


async def one_call(args, traceparent):
    async with Client(target(args)) as client:
        result = await client.call_tool(
            args.tool, json.loads(args.args), meta={"traceparent": traceparent}
        )
        return {"text": text_of(result), "is_error": bool(result.is_error)}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--args", default="{}")
    parser.add_argument("--traceparent", action="append", required=True)
    parser.add_argument("transport", choices=["http", "sse", "stdio"])
    parser.add_argument("target", nargs="+")
    args = parser.parse_args()
    calls = await asyncio.gather(*(one_call(args, tp) for tp in args.traceparent))
    print(json.dumps({"calls": list(calls)}))


if __name__ == "__main__":
    asyncio.run(main())
