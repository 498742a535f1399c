"""AutoGen side of bench/team_tools.sh: a one-turn AutoGen 0.7.5 team (a round robin of one
AssistantAgent against the scripted model server, stopped after its reply) wrapped as an MCP tool
`ask(task)` by a Python MCP server (the `mcp` SDK's FastMCP over streamable HTTP). Each call runs
a fresh team, as toolyard runs a fresh team per call.

`team_tool_server.py MODEL_BASE_URL PORT`
"""
import sys
import warnings

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient
from mcp.server.fastmcp import FastMCP

warnings.filterwarnings("ignore")
MODEL_URL, PORT = sys.argv[1], int(sys.argv[2])
server = FastMCP("autogen-team-tools", host="127.0.0.1", port=PORT, log_level="WARNING")


@server.tool(description="Runs a one-turn AutoGen team on the task.")
async def ask(task: str) -> str:
    client = OpenAIChatCompletionClient(model="gpt-4o", base_url=MODEL_URL, api_key="sk-bench", max_retries=0)
    agent = AssistantAgent("assistant", client, system_message="bench-tool-agent")
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
    result = await team.run(task=task)
    return result.messages[-1].to_text()


server.run(transport="streamable-http")
