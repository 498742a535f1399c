"""Drive an MCP server over legacy SSE with the Python SDK client, for toolyard's server-face tests.

Usage: sse_client_check.py SSE_URL TOOL JSON_ARGS
Connects, initializes, lists tools and calls TOOL with JSON_ARGS, then prints one JSON line:
{"server": ..., "tools": [names], "result": [text contents], "is_error": bool}.
"""

import json
import sys

import anyio
from mcp import ClientSession
from mcp.client.sse import sse_client


async def main(url: str, tool: str, args: dict) -> None:
    async with sse_client(url, timeout=10) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool(tool, args)
            texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
            # mcp 2.x uses snake_case attributes, mcp 1.x camelCase.
            server_info = getattr(init, "server_info", None) or getattr(init, "serverInfo")
            is_error = getattr(result, "is_error", None) or getattr(result, "isError", False)
            print(
                json.dumps(
                    {
                        "server": server_info.name,
                        "tools": sorted(t.name for t in tools.tools),
                        "result": texts,
                        "is_error": bool(is_error),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
