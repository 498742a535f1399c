"""An upstream MCP server (Python SDK, stdio) with one slow tool, for workbench cancellation
tests: `slow {seconds}` sleeps; when the call is cancelled it writes "cancelled" to the file
named by argv[1] (and "started" when it begins), so the test can see the upstream call stop.

Usage: workbench_slow_upstream.py MARKER_FILE
"""

import sys

import anyio
from mcp.server.mcpserver import MCPServer

marker = sys.argv[1]
server = MCPServer("slow-upstream")


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep for `seconds`, then answer."""
    with open(marker, "a") as f:
        f.write("started\n")
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        with open(marker, "a") as f:
            f.write("cancelled\n")
        raise
    return f"slept {seconds} s"


if __name__ == "__main__":
    server.run()
