"""A stdio upstream whose one tool, `trace_meta`, answers with the `traceparent` of the request's
`_meta` (empty when there is none): shows what trace context the gateway sent upstream.

Usage: meta_upstream.py
"""

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("meta-upstream")


@server.tool()
def trace_meta(ctx: Context) -> str:
    meta = ctx.request_context.meta
    if meta is None:
        return ""
    if not isinstance(meta, dict):
        meta = meta.model_dump(by_alias=True)
    return str(meta.get("traceparent", ""))


if __name__ == "__main__":
    server.run("stdio")
