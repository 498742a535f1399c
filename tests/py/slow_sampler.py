"""A Python `mcp` SDK client whose sampling answer never comes in time: reports whether the
sampling request it was sent got cancelled (notifications/cancelled) when its asker gave up.

Usage: slow_sampler.py TOOL -- CMD...   (launches CMD as a stdio MCP server; legacy mode)
"""

import asyncio
import json
import sys

import anyio
from mcp import Client, types
from mcp.client.stdio import StdioServerParameters

seen = {"cancel_notifications": 0, "callback_cancelled": False}


async def slow_sampling(context, params):
    try:
        await anyio.sleep(20)
    except BaseException:
        seen["callback_cancelled"] = True
        raise
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="too late"), model="m"
    )


async def on_message(message):
    if getattr(message, "method", None) == "notifications/cancelled":
        seen["cancel_notifications"] += 1


async def main():
    tool = sys.argv[1]
    command = sys.argv[sys.argv.index("--") + 1 :]
    server = StdioServerParameters(command=command[0], args=command[1:])
    async with Client(server, mode="legacy", sampling_callback=slow_sampling, message_handler=on_message) as client:
        result = await client.call_tool(tool, {})
        text = "".join(c.text for c in result.content if getattr(c, "type", None) == "text")
        for _ in range(30):
            if seen["cancel_notifications"] or seen["callback_cancelled"]:
                break
            await asyncio.sleep(0.1)
        # Snapshot before leaving the client: its shutdown cancels every pending callback too.
        report = {"text": text, **seen}
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=60))
