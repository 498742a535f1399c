"""A Python `mcp` SDK client for tests/human_mcp.rs: calls team tools that need human input
(elicitation) or the client's model (sampling), answers those requests, prints one JSON report.

Usage: human_client.py URL --calls JSON [--mode legacy|auto] [--no-elicitation] [--no-sampling]
                           [--sampling-tools]

--calls is a JSON list of [tool, task] pairs, called in order. The elicitation callback answers
by the task it is shown: a message containing "please decline" is declined, "please cancel" is
cancelled, "please hang" is never answered (with --cancel, the client then cancels the call
and records whether the question was withdrawn), anything else is accepted with the reply
"<REPLY>". The sampling callback calls the
first offered tool once (with {"a": 2, "b": 3}), then answers "sampled: " + the text of the
newest message. Every request seen goes into the report; the Rust test asserts.
"""

import argparse
import asyncio
import json
import logging
import sys

from mcp import Client, types

REPLY = "the human says go on"

elicitations = []
samplings = []
asked_to_hang = asyncio.Event()


def block_text(block):
    kind = getattr(block, "type", None)
    if kind == "text":
        return block.text
    if kind == "tool_result":
        return "".join(block_text(c) for c in block.content)
    return ""


def blocks(content):
    return content if isinstance(content, list) else [content]


async def elicitation(context, params):
    seen = {"message": params.message, "schema": params.requested_schema}
    elicitations.append(seen)
    if "please hang" in params.message:
        asked_to_hang.set()
        try:
            await asyncio.Event().wait()
        except BaseException:
            seen["withdrawn"] = True
            raise
    if "please decline" in params.message:
        return types.ElicitResult(action="decline")
    if "please cancel" in params.message:
        return types.ElicitResult(action="cancel")
    return types.ElicitResult(action="accept", content={"reply": REPLY})


async def sampling(context, params):
    tools = [t.name for t in (params.tools or [])]
    hints = [h.name for h in ((params.model_preferences and params.model_preferences.hints) or [])]
    samplings.append(
        {
            "system_prompt": params.system_prompt,
            "max_tokens": params.max_tokens,
            "hints": hints,
            "tools": tools,
            "roles": [m.role for m in params.messages],
            "types": [[getattr(b, "type", None) for b in blocks(m.content)] for m in params.messages],
        }
    )
    last = params.messages[-1]
    called = any(getattr(b, "type", None) == "tool_result" for m in params.messages for b in blocks(m.content))
    if tools and not called:
        return types.CreateMessageResultWithTools(
            role="assistant",
            content=[types.ToolUseContent(type="tool_use", id="call-1", name=tools[0], input={"a": 2, "b": 3})],
            model="python-test-model",
            stop_reason="toolUse",
        )
    text = "".join(block_text(b) for b in blocks(last.content))
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=f"sampled: {text}"),
        model="python-test-model",
        stop_reason="endTurn",
    )


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def main():
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--calls", required=True)
    parser.add_argument("--mode", default="legacy")
    parser.add_argument("--no-elicitation", action="store_true")
    parser.add_argument("--no-sampling", action="store_true")
    parser.add_argument("--sampling-tools", action="store_true")
    parser.add_argument("--cancel", action="store_true")
    args = parser.parse_args()
    options = {}
    if not args.no_elicitation:
        options["elicitation_callback"] = elicitation
    if not args.no_sampling:
        options["sampling_callback"] = sampling
        if args.sampling_tools:
            options["sampling_capabilities"] = types.SamplingCapability(tools=types.SamplingToolsCapability())
    client = Client(args.url, mode=args.mode, read_timeout_seconds=30, **options)
    report = {"calls": []}
    async with client:
        report["protocol_version"] = client.protocol_version
        if args.cancel:
            # Call, wait until the question arrives, then give up on the call.
            tool, task = json.loads(args.calls)[0]
            call = asyncio.ensure_future(client.call_tool(tool, {"task": task}))
            await asyncio.wait_for(asked_to_hang.wait(), timeout=30)
            call.cancel()
            for _ in range(300):
                if elicitations[-1].get("withdrawn"):
                    break
                await asyncio.sleep(0.1)
            report["cancelled"] = True
        for tool, task in ([] if args.cancel else json.loads(args.calls)):
            try:
                r = await client.call_tool(tool, {"task": task})
                report["calls"].append({"text": text_of(r), "is_error": bool(r.is_error)})
            except Exception as e:  # report, don't crash: the test asserts on what happened
                report["calls"].append({"exception": f"{type(e).__name__}: {e}"})
    report["elicitations"] = elicitations
    report["samplings"] = samplings
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=90))
