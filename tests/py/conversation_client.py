"""Hold a conversation with a toolyard workbench tool through the Python `mcp` SDK client: call
TOOL with the first task, then with each further task and the `conversation_id` the previous
result returned; print one JSON report (each turn's conversation_id, is_error, text and chat
speakers) for the Rust test to assert on.

Usage: conversation_client.py URL TOOL --mode (legacy|auto) TASK [TASK...]
"""

import argparse
import asyncio
import json

from mcp import Client


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("tool")
    parser.add_argument("tasks", nargs="+")
    parser.add_argument("--mode", default="legacy")
    a = parser.parse_args()
    report = {"turns": []}
    async with Client(a.url, mode=a.mode, read_timeout_seconds=60) as client:
        report["protocol_version"] = client.protocol_version
        tools = await client.list_tools()
        tool = next(t for t in tools.tools if t.name == a.tool)
        report["input_has_conversation_id"] = "conversation_id" in tool.input_schema["properties"]
        report["output_has_conversation_id"] = "conversation_id" in (tool.output_schema or {}).get(
            "properties", {}
        )
        conversation = None
        for task in a.tasks:
            args = {"task": task}
            if conversation:
                args["conversation_id"] = conversation
            result = await client.call_tool(a.tool, args)
            structured = result.structured_content or {}
            conversation = structured.get("conversation_id")
            report["turns"].append(
                {
                    "conversation_id": conversation,
                    "is_error": bool(result.is_error),
                    "text": text_of(result),
                    "speakers": [
                        m.get("source")
                        for m in structured.get("messages", [])
                        if m.get("type") == "TextMessage"
                    ],
                }
            )
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=120))
