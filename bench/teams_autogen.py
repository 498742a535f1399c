"""AutoGen 0.7.5 side of bench/teams.sh.

`teams_autogen.py dump URL DIR`: builds the benchmark teams with AutoGen and writes their component
configs to DIR (toolyard loads the very same files).
`teams_autogen.py run SCENARIO URL DIR RUNS WARMUP`: runs one scenario in this process and prints
{"ms_per_message": .., "messages": .., "peak_rss_mb": ..}.
"""
import asyncio
import json
import pathlib
import resource
import sys
import time
import warnings

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import Team
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import BaseChatMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_ext.models.openai import OpenAIChatCompletionClient

try:
    from autogen_agentchat.teams import DiGraphBuilder, GraphFlow
except ImportError:  # pragma: no cover
    GraphFlow = None


def client(url):
    return OpenAIChatCompletionClient(model="gpt-4o", base_url=url, api_key="sk-bench", max_retries=0)


def agent(url, name, system, **kw):
    return AssistantAgent(name, client(url), system_message=system, description=f"The {name} agent.", **kw)


def teams(url):
    out = {}
    out["round_robin_2x50"] = RoundRobinGroupChat(
        [agent(url, "a", "bench-rr-a"), agent(url, "b", "bench-rr-b")],
        termination_condition=MaxMessageTermination(50),
    )
    out["selector_3x30"] = SelectorGroupChat(
        [agent(url, n, f"bench-sel-{n}") for n in ("alice", "bob", "carol")],
        model_client=client(url),
        termination_condition=MaxMessageTermination(30),
    )
    out["swarm_2x20"] = Swarm(
        [agent(url, "a", "bench-swarm-a", handoffs=["b"]), agent(url, "b", "bench-swarm-b", handoffs=["a"])],
        termination_condition=MaxMessageTermination(20),
    )
    if GraphFlow is not None:
        nodes = [agent(url, n, f"bench-graph-{n}") for n in ("source", "w1", "w2", "w3", "w4", "join")]
        b = DiGraphBuilder()
        for n in nodes:
            b.add_node(n)
        for w in nodes[1:5]:
            b.add_edge(nodes[0], w)
            b.add_edge(w, nodes[5])
        out["graph_fanout_4"] = GraphFlow(nodes, graph=b.build())
    return out


async def run(scenario, url, runs, warmup):
    team: Team = teams(url)[scenario]
    count = 0
    for _ in range(warmup):
        await team.run(task="Go")
        await team.reset()
    start = time.perf_counter()
    for _ in range(runs):
        result = await team.run(task="Go")
        count += sum(1 for m in result.messages if isinstance(m, BaseChatMessage))
        await team.reset()
    elapsed = (time.perf_counter() - start) * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms_per_message": elapsed / count, "messages": count // runs, "peak_rss_mb": rss}))


def main():
    warnings.filterwarnings("ignore")
    if sys.argv[1] == "dump":
        url, out = sys.argv[2], pathlib.Path(sys.argv[3])
        out.mkdir(parents=True, exist_ok=True)
        for name, team in teams(url).items():
            (out / f"{name}.json").write_text(json.dumps(team.dump_component().model_dump(mode="json")))
        return
    _, scenario, url, _dir, runs, warmup = sys.argv[1:]
    asyncio.run(run(scenario, url, int(runs), int(warmup)))


if __name__ == "__main__":
    main()
