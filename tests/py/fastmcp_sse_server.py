"""A tiny Python SDK server (MCPServer, FastMCP in mcp 1.x) over legacy SSE, for toolyard's tests.

Usage: fastmcp_sse_server.py [PORT]
It binds 127.0.0.1 on PORT (default: a free port), prints the port on the first line of stdout,
then serves GET /sse and POST /messages/ until it is killed.
"""

import socket
import sys

import anyio
import uvicorn

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

mcp = Server("toolyard-sse-fixture")


@mcp.tool()
def echo(message: str) -> str:
    """Echo the message back."""
    return f"Echo: {message}"


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def serve(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(mcp.sse_app(), log_level="warning")
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    anyio.run(serve, int(sys.argv[1]) if len(sys.argv) > 1 else 0)
