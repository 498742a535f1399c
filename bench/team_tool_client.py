"""Client side of bench/team_tools.sh: AutoGen 0.7.5's McpWorkbench calls a tool over streamable
HTTP, first one call at a time (latency, calls/s), then CONCURRENT calls at once (completion time).
Prints one JSON object.

`team_tool_client.py MCP_URL TOOL CALLS CONCURRENT`
"""
import asyncio
import json
import sys
import time
import warnings

from autogen_ext.tools.mcp import McpWorkbench, StreamableHttpServerParams


async def main():
    warnings.filterwarnings("ignore")
    url, tool, calls, concurrent = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    async with McpWorkbench(StreamableHttpServerParams(url=url, timeout=60, sse_read_timeout=600)) as wb:
        names = [t["name"] for t in await wb.list_tools()]
        assert tool in names, names
        for _ in range(5):
            await wb.call_tool(tool, {"task": "warm up"})
        lat = []
        start = time.perf_counter()
        for i in range(calls):
            t0 = time.perf_counter()
            r = await wb.call_tool(tool, {"task": f"call {i}"})
            lat.append((time.perf_counter() - t0) * 1000)
            assert not r.is_error, r
        total = time.perf_counter() - start
        t0 = time.perf_counter()
        results = await asyncio.gather(*[wb.call_tool(tool, {"task": f"run {i}"}) for i in range(concurrent)])
        burst = time.perf_counter() - t0
        assert not any(r.is_error for r in results), [r for r in results if r.is_error][:1]
    lat.sort()
    print(json.dumps({
        "p50_ms": lat[len(lat) // 2],
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "calls_per_s": calls / total,
        "concurrent": concurrent,
        "concurrent_s": burst,
    }))


asyncio.run(main())
