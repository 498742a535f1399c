"""AutoGen 0.7.5 side of bench/agents.sh: the same scenarios against the same scripted server.

Prints one JSON object: {scenario: ms_per_run}.
"""
import asyncio
import json
import sys
import time
import warnings

from autogen_agentchat.agents import AssistantAgent
from autogen_core import CancellationToken
from autogen_core.tools import FunctionTool
from autogen_ext.models.openai import OpenAIChatCompletionClient


async def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


def agent(base_url, system, **kw):
    client = OpenAIChatCompletionClient(model="gpt-4o", base_url=base_url, api_key="sk-bench", max_retries=0)
    return AssistantAgent("assistant", model_client=client, system_message=system, **kw)


EXPECTED = {
    "text": "Hello! How can I help you today?",
    "tool_no_reflection": "3",
    "tool_reflection": "The sum of 1 and 2 is 3.",
    "streaming": "Streaming is a way to show the answer as it is produced, one small piece after another, so the user sees progress at once.",
}


async def time_runs(a, runs, warmup, expected):
    for _ in range(warmup):
        await a.run(task="Go")
        await a.on_reset(CancellationToken())
    start = time.perf_counter()
    for _ in range(runs):
        result = await a.run(task="Go")
        assert result.messages[-1].to_text() == expected, result.messages[-1]
        await a.on_reset(CancellationToken())
    return (time.perf_counter() - start) * 1000 / runs


async def main():
    warnings.filterwarnings("ignore")
    base_url, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tool = FunctionTool(add, description="Adds two integers.")
    scenarios = {
        "text": agent(base_url, "bench-text"),
        "tool_no_reflection": agent(base_url, "bench-tool", tools=[tool]),
        "tool_reflection": agent(base_url, "bench-tool", tools=[tool], reflect_on_tool_use=True),
        "streaming": agent(base_url, "bench-stream", model_client_stream=True),
    }
    out = {}
    for name, a in scenarios.items():
        out[name] = await time_runs(a, runs, warmup, EXPECTED[name])
    print(json.dumps(out))


asyncio.run(main())
