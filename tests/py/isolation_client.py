"""Several Python `mcp` SDK sessions on one toolyard at once; prints one JSON report.

Usage: isolation_client.py (http|sse) URL --mode legacy|auto --rounds N --gap-ms MS
                           --session NAME=TOOL[:ARGS_JSON] [--session ...]

Every session is its own client (its own MCP session for 2025-era modes). In each round every
session calls its tool once; the calls of one round start `--gap-ms` apart and run at the same
time. Each session answers elicitation with {"name": NAME, "response": NAME} and sampling with
"sampled by NAME", and records every elicitation, sampling request, log message and progress
notification it receives, so the Rust test can check that each caller saw only its own.
"""

import argparse
import asyncio
import json

from mcp import Client, types
from mcp.client.sse import sse_client


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


class Session:
    def __init__(self, name, tool, arguments):
        self.name = name
        self.tool = tool
        self.arguments = arguments
        self.elicitations = []
        self.samplings = []
        self.logs = []
        self.progress = []
        self.results = []

    async def elicitation(self, context, params):
        self.elicitations.append(params.message)
        return types.ElicitResult(
            action="accept",
            content={"name": self.name, "response": self.name, "check": True},
        )

    async def sampling(self, context, params):
        texts = [getattr(m.content, "text", "") for m in params.messages]
        self.samplings.append(" ".join(t for t in texts if t))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"sampled by {self.name}"),
            model="isolation-test",
            stop_reason="endTurn",
        )

    async def logging(self, params):
        self.logs.append(str(params.data))

    async def on_message(self, message):
        # Log messages also arrive here on some SDK paths; the logging callback records them.
        return None

    async def call(self, client):
        async def on_progress(progress, total, message):
            self.progress.append(progress)

        try:
            result = await client.call_tool(
                self.tool, self.arguments, progress_callback=on_progress
            )
            self.results.append({"text": text_of(result), "is_error": bool(result.is_error)})
        except Exception as e:  # report, don't crash: the test asserts on what happened
            self.results.append({"exception": f"{type(e).__name__}: {e}"})

    def report(self):
        return {
            "tool": self.tool,
            "elicitations": self.elicitations,
            "samplings": self.samplings,
            "logs": self.logs,
            "progress": self.progress,
            "results": self.results,
        }


def parse_session(spec):
    name, rest = spec.split("=", 1)
    tool, _, args = rest.partition(":")
    return Session(name, tool, json.loads(args) if args else {})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["http", "sse"])
    parser.add_argument("url")
    parser.add_argument("--mode", default="legacy")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap-ms", type=int, default=20)
    parser.add_argument("--session", action="append", required=True)
    args = parser.parse_args()
    sessions = [parse_session(s) for s in args.session]

    def make_client(session):
        server = args.url if args.transport == "http" else sse_client(args.url)
        return Client(
            server,
            mode=args.mode,
            sampling_callback=session.sampling,
            elicitation_callback=session.elicitation,
            logging_callback=session.logging,
            log_level="debug",
            message_handler=session.on_message,
            read_timeout_seconds=60,
        )

    clients = [make_client(s) for s in sessions]
    for client in clients:
        await client.__aenter__()
    try:
        for _ in range(args.rounds):
            calls = []
            for session, client in zip(sessions, clients):
                calls.append(asyncio.create_task(session.call(client)))
                await asyncio.sleep(args.gap_ms / 1000)
            await asyncio.gather(*calls)
    finally:
        for client in reversed(clients):
            await client.__aexit__(None, None, None)
    print(json.dumps({s.name: s.report() for s in sessions}))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=120))
