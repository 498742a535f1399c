"""A Python `mcp` SDK (MCPServer, formerly FastMCP) upstream for toolyard's gateway tests.

Usage: fastmcp_upstream.py stdio | sse PORT | streamable-http PORT

Tools: echo, add, slow_report (which carries `execution.taskSupport`, a field rmcp's typed
Tool does not model: the gateway must pass it through unchanged on 2025-11-25 connections),
count (reports progress step by step, labelled; may run as a task).
"""

import sys

import anyio
from mcp import types
from mcp.server.mcpserver import Context, MCPServer


class Upstream(MCPServer):
    async def list_tools(self):
        tools = await super().list_tools()
        for tool in tools:
            if tool.name in ("slow_report", "count"):
                tool.execution = types.ToolExecution(task_support="optional")
        return tools


server = Upstream("py-upstream")


@server.tool()
def echo(message: str) -> str:
    """Echo a message with a prefix."""
    return f"py: {message}"


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def slow_report() -> str:
    """A tool that declares optional task support."""
    return "report ready"


@server.tool()
async def count(steps: int, label: str, ctx: Context) -> str:
    """Reports `steps` steps of progress, each labelled `label`, a little apart."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"{label} {step}")
        await anyio.sleep(0.005)
    return f"{label} counted {steps}"


@server.tool()
async def impatient_sample(ctx: Context) -> str:
    """Asks the caller's model, but gives up (and cancels the request) after half a second."""
    with anyio.move_on_after(0.5):
        await ctx.session.create_message(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text="hi"))],
            max_tokens=5,
        )
        return "answered"
    return "gave up"


if __name__ == "__main__":
    transport = sys.argv[1]
    if transport == "stdio":
        server.run()
    elif transport == "sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
