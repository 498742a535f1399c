"""AutoGen 0.7.5's McpWorkbench connects to `toolyard serve --stdio`; an AutoGen AssistantAgent
(on the scripted model server at BASE_URL) uses a toolyard team tool as one of its tools.
Prints one JSON report.

Usage: autogen_workbench_agent.py BASE_URL TASK -- TOOLYARD_COMMAND...
"""

import asyncio
import json
import sys

from autogen_agentchat.agents import AssistantAgent
from autogen_ext.models.openai import OpenAIChatCompletionClient
from autogen_ext.tools.mcp import McpWorkbench, StdioServerParams


def as_text(content):
    if isinstance(content, str):
        return content
    return json.loads(json.dumps(content, default=lambda o: getattr(o, "model_dump", lambda: str(o))()))


async def main():
    base_url, task = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1 :]
    params = StdioServerParams(command=command[0], args=command[1:], read_timeout_seconds=60)
    async with McpWorkbench(server_params=params) as workbench:
        tools = await workbench.list_tools()
        model = OpenAIChatCompletionClient(
            model="gpt-4o", api_key="scripted", base_url=base_url, max_retries=0
        )
        agent = AssistantAgent(
            "outer", model_client=model, workbench=workbench, reflect_on_tool_use=False
        )
        result = await agent.run(task=task)
        await model.close()
    report = {
        "tools": sorted(t["name"] for t in tools),
        "messages": [
            {"type": type(m).__name__, "source": m.source, "content": as_text(m.content)}
            for m in result.messages
        ],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=120))
