"""Drive toolyard's 2025-11-25 tasks with the Python `mcp` SDK client; print one JSON report.

Usage: tasks_client.py URL TOOL [ARGUMENTS_JSON]

The SDK (2.x) has no tasks API: the task requests go through the session's generic
`send_request` with request types declared here, except the task-augmented `tools/call`, whose
`CreateTaskResult` the SDK's result validation rejects (it validates every `tools/call` result as
a `CallToolResult`), so that one request goes through the session's dispatcher unvalidated.
Everything else (handshake, session id, headers, the session's own streams) is the SDK's. Every outcome goes into the report; the Rust
test asserts.
"""

import asyncio
import json
import sys
from typing import Any, Literal

from mcp import Client, types
from pydantic import TypeAdapter

RAW = TypeAdapter(dict[str, Any])


class TasksGet(types.Request[dict[str, Any], Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: dict[str, Any]


class TasksResult(types.Request[dict[str, Any], Literal["tasks/result"]]):
    method: Literal["tasks/result"] = "tasks/result"
    params: dict[str, Any]


class TasksList(types.Request[dict[str, Any], Literal["tasks/list"]]):
    method: Literal["tasks/list"] = "tasks/list"
    params: dict[str, Any]


class TasksCancel(types.Request[dict[str, Any], Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: dict[str, Any]


async def attempt(report, key, coro):
    try:
        report[key] = await coro
    except Exception as e:  # report, don't crash: the test asserts on what happened
        report[key] = {"exception": f"{type(e).__name__}: {e}"}


async def main():
    url, tool = sys.argv[1], sys.argv[2]
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    report = {}
    async with Client(url, mode="legacy") as client:
        session = client.session
        report["protocol_version"] = client.protocol_version
        caps = client.server_capabilities.model_dump(by_alias=True, mode="json", exclude_none=True)
        report["capabilities"] = caps
        tools = await client.list_tools()
        report["execution"] = {
            t.name: t.execution.task_support for t in tools.tools if getattr(t, "execution", None) is not None
        }

        async def send(request):
            return await session.send_request(request, RAW)

        params = {"name": tool, "arguments": arguments, "task": {"ttl": 30000}}
        await attempt(report, "created", session._dispatcher.send_raw_request("tools/call", params, {}))
        task_id = (report["created"].get("task") or {}).get("taskId")
        if task_id:
            await attempt(report, "result", send(TasksResult(params={"taskId": task_id})))
            await attempt(report, "get", send(TasksGet(params={"taskId": task_id})))
            await attempt(report, "list", send(TasksList(params={})))
            await attempt(report, "cancel_ended", send(TasksCancel(params={"taskId": task_id})))
        await attempt(report, "unknown", send(TasksGet(params={"taskId": "nope"})))
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
