"""Resource subscriptions through toolyard, with several Python `mcp` SDK clients at once;
prints one JSON report.

Usage: subscription_client.py URL --uri URI --trigger TOOL --seconds S

Three clients connect at once: `legacy` (2025-11-25) subscribes to URI with resources/subscribe,
`modern` (2026-07-28) opens a subscriptions/listen stream for URI, and `bystander` (2025-11-25)
subscribes to nothing. The legacy client calls TRIGGER (a tool that makes the upstream send
resource updates), then everyone listens for S seconds; legacy then unsubscribes and everyone
listens for S more seconds. The report counts the resources/updated each client saw in each
phase.
"""

import argparse
import asyncio
import json

from mcp import Client


class Counter:
    def __init__(self):
        self.phase = "subscribed"
        self.updates = {"subscribed": 0, "unsubscribed": 0}

    async def on_message(self, message):
        if getattr(message, "method", None) == "notifications/resources/updated":
            self.updates[self.phase] += 1


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--uri", required=True)
    parser.add_argument("--trigger", required=True)
    parser.add_argument("--seconds", type=float, default=7)
    args = parser.parse_args()

    legacy, bystander = Counter(), Counter()
    modern_updates = {"subscribed": 0}
    report = {}
    async with (
        Client(args.url, mode="legacy", message_handler=legacy.on_message) as lc,
        Client(args.url, mode="legacy", message_handler=bystander.on_message) as bc,
        Client(args.url, mode="auto") as mc,
    ):
        report["modern_protocol"] = mc.protocol_version
        await lc.subscribe_resource(args.uri)

        async def listen():
            async with mc.listen(resource_subscriptions=[args.uri]) as sub:
                async for event in sub:
                    if getattr(event, "uri", None) == args.uri or "updated" in type(event).__name__.lower():
                        modern_updates["subscribed"] += 1

        listener = asyncio.create_task(listen())
        await lc.call_tool(args.trigger, {})
        await asyncio.sleep(args.seconds)
        listener.cancel()
        try:
            await listener
        except (asyncio.CancelledError, Exception):
            pass
        legacy.phase = bystander.phase = "unsubscribed"
        await lc.unsubscribe_resource(args.uri)
        await asyncio.sleep(args.seconds)
        await lc.call_tool(args.trigger, {})  # stop the simulated updates
    report["legacy"] = legacy.updates
    report["bystander"] = bystander.updates
    report["modern"] = modern_updates
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=90))
