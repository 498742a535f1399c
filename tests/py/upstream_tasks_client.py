"""Run tool calls as tasks through toolyard with the Python `mcp` SDK client, several callers at
once, each in a session of its own; print one JSON report.

Usage: upstream_tasks_client.py URL MODE TOOL --caller NAME=ARGUMENTS_JSON ... [--cancel NAME]
       [--answer FIELD=VALUE]

MODE `legacy` speaks 2025-11-25 (experimental tasks: `params.task` on `tools/call`, then
`tasks/get` until the task ends, `tasks/result`, `tasks/list`); the SDK has no tasks API, so the
task requests go through the session (the task-augmented `tools/call` through its dispatcher,
unvalidated, since the SDK validates every `tools/call` result as a `CallToolResult`).

MODE `plain` calls TOOL once (2025-11-25, no task) and reports its text as `log`.

MODE `auto` speaks 2026-07-28 and declares the tasks extension with the SDK's own extension
surface: a `ClientExtension` whose result claim takes the `CreateTaskResult` and resolves it by
polling `tasks/get`, answering `input_required` questions with `tasks/update`. Legacy callers
also collect the `notifications/tasks/status` their session receives (`notified`).

Every caller polls only its own task. Once all tasks exist, each legacy caller also asks for
every other caller's task (`tasks/get`), which must be refused. `--cancel NAME` cancels that
caller's task once it is seen working. Questions (elicitation) are answered with `--answer`.
Every outcome goes into the report; the Rust test asserts.
"""

import argparse
import asyncio
import json
import traceback
from typing import Any, ClassVar, Literal

from mcp import Client, types
from mcp.client.extension import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp_types import CallToolResult, Result
from pydantic import BaseModel, ConfigDict, TypeAdapter

RAW = TypeAdapter(dict[str, Any])
TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = ("completed", "failed", "cancelled")


class TasksGet(types.Request[dict[str, Any], Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: dict[str, Any]
    name_param: ClassVar[str | None] = "taskId"  # the Mcp-Name header (2026-07-28)


class TasksResult(types.Request[dict[str, Any], Literal["tasks/result"]]):
    method: Literal["tasks/result"] = "tasks/result"
    params: dict[str, Any]
    name_param: ClassVar[str | None] = "taskId"  # the Mcp-Name header (2026-07-28)


class TasksList(types.Request[dict[str, Any], Literal["tasks/list"]]):
    method: Literal["tasks/list"] = "tasks/list"
    params: dict[str, Any]


class TasksCancel(types.Request[dict[str, Any], Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: dict[str, Any]
    name_param: ClassVar[str | None] = "taskId"  # the Mcp-Name header (2026-07-28)


class TasksUpdate(types.Request[dict[str, Any], Literal["tasks/update"]]):
    method: Literal["tasks/update"] = "tasks/update"
    params: dict[str, Any]
    name_param: ClassVar[str | None] = "taskId"  # the Mcp-Name header (2026-07-28)


class CreatedTask(Result):
    """A 2026-07-28 `CreateTaskResult`."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"]


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result.get("content", []) if isinstance(c, dict))


class StatusParams(BaseModel):
    model_config = ConfigDict(extra="allow")


class StatusWatcher(ClientExtension):
    """Collects the 2025-11-25 `notifications/tasks/status` the session receives."""

    identifier = "dev.toolyard.test/task-status"

    def __init__(self, caller: "Caller"):
        self.caller = caller

    def notifications(self):
        return [
            NotificationBinding(method="notifications/tasks/status", params_type=StatusParams, handler=self.seen)
        ]

    async def seen(self, params: StatusParams):
        extra = params.model_extra or {}
        self.caller.report["notified"].append([extra.get("taskId"), extra.get("status"), extra.get("statusMessage")])


class Caller:
    """One caller: its session, its task, what it saw."""

    def __init__(self, name: str, arguments: dict, answer: dict, cancel: bool):
        self.name = name
        self.arguments = arguments
        self.answer = answer
        self.cancel = cancel
        self.session = None
        self.report: dict[str, Any] = {"statuses": [], "elicitations": [], "notified": []}
        self.created = asyncio.Event()

    async def elicitation(self, context, params):
        self.report["elicitations"].append(params.message)
        return types.ElicitResult(action="accept", content=self.answer)

    async def send(self, request):
        return await self.session.send_request(request, RAW)

    def saw(self, task: dict):
        entry = [task.get("status"), task.get("statusMessage")]
        if not self.report["statuses"] or self.report["statuses"][-1] != entry:
            self.report["statuses"].append(entry)

    async def poll(self, task_id: str, answer_inputs: bool) -> dict:
        """tasks/get until the task ends (cancelling it once working, if asked)."""
        while True:
            task = await self.send(TasksGet(params={"taskId": task_id}))
            self.saw(task)
            if task.get("status") in TERMINAL:
                return task
            if self.cancel and task.get("status") == "working":
                self.report["cancel"] = await self.send(TasksCancel(params={"taskId": task_id}))
                self.cancel = False
            if answer_inputs and task.get("status") == "input_required":
                answers = {}
                for key, request in (task.get("inputRequests") or {}).items():
                    self.report["elicitations"].append(request.get("params", {}).get("message"))
                    answers[key] = {"action": "accept", "content": self.answer}
                if answers:
                    await self.send(TasksUpdate(params={"taskId": task_id, "inputResponses": answers}))
                    continue
            await asyncio.sleep(0.2)


class TasksExtension(ClientExtension):
    """The 2026-07-28 tasks extension, as far as this test needs it."""

    identifier = TASKS

    def __init__(self, caller: Caller):
        self.caller = caller

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        caller = self.caller
        task_id = created.model_extra["taskId"]
        caller.report["task_id"] = task_id
        caller.created.set()
        task = await caller.poll(task_id, answer_inputs=True)
        caller.report["final"] = task
        if task.get("status") == "completed":
            return CallToolResult.model_validate(task["result"])
        return CallToolResult(content=[], is_error=True)


async def legacy(caller: Caller, url: str, tool: str, everyone: list[Caller]):
    watcher = StatusWatcher(caller)
    async with Client(
        url, mode="legacy", elicitation_callback=caller.elicitation, extensions=[watcher]
    ) as client:
        caller.session = client.session
        caller.report["protocol_version"] = client.protocol_version
        params = {"name": tool, "arguments": caller.arguments, "task": {"ttl": 60000}}
        created = await client.session._dispatcher.send_raw_request("tools/call", params, {})
        caller.report["created"] = created
        task_id = created["task"]["taskId"]
        caller.report["task_id"] = task_id
        caller.created.set()
        await asyncio.gather(*(c.created.wait() for c in everyone))
        caller.report["others"] = {}
        for other in everyone:
            if other is not caller:
                try:
                    seen = await caller.send(TasksGet(params={"taskId": other.report["task_id"]}))
                except Exception as e:
                    seen = {"exception": str(e)}
                caller.report["others"][other.name] = seen
        task = await caller.poll(task_id, answer_inputs=False)
        caller.report["final"] = task
        if task["status"] != "cancelled":
            try:
                result = await caller.send(TasksResult(params={"taskId": task_id}))
                caller.report["result"] = {"text": text_of(result), "meta": result.get("_meta")}
            except Exception as e:
                caller.report["result"] = {"exception": str(e)}
        listed = await caller.send(TasksList(params={}))
        caller.report["listed"] = [t["taskId"] for t in listed.get("tasks", [])]
        # The final status notification is sent when the task ends; give it a moment to land.
        for _ in range(50):
            if any(n[1] in TERMINAL for n in caller.report["notified"]):
                break
            await asyncio.sleep(0.1)


async def modern(caller: Caller, url: str, tool: str):
    extension = TasksExtension(caller)
    async with Client(
        url, mode="auto", elicitation_callback=caller.elicitation, extensions=[extension]
    ) as client:
        caller.session = client.session
        caller.report["protocol_version"] = client.protocol_version
        result = await client.call_tool(tool, caller.arguments)
        caller.report["result"] = {
            "text": "".join(getattr(c, "text", "") for c in result.content),
            "is_error": bool(result.is_error),
            "meta": result.meta,
        }


async def run(caller: Caller, args, everyone: list[Caller]):
    try:
        if args.mode == "legacy":
            await legacy(caller, args.url, args.tool, everyone)
        else:
            await modern(caller, args.url, args.tool)
    except Exception as e:  # report, don't crash: the test asserts on what happened
        caller.report["exception"] = f"{type(e).__name__}: {e}"
        caller.report["trace"] = traceback.format_exception(e)[-12:]
        caller.created.set()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("mode", choices=["legacy", "auto", "plain"])
    parser.add_argument("tool")
    parser.add_argument("--caller", action="append", default=[])
    parser.add_argument("--cancel", action="append", default=[])
    parser.add_argument("--answer", action="append", default=[])
    args = parser.parse_args()
    if args.mode == "plain":
        async with Client(args.url, mode="legacy") as client:
            result = await client.call_tool(args.tool, {})
            print(json.dumps({"log": "".join(getattr(c, "text", "") for c in result.content)}))
        return
    answer = dict(a.split("=", 1) for a in args.answer)
    callers = []
    for spec in args.caller:
        name, arguments = spec.split("=", 1)
        callers.append(Caller(name, json.loads(arguments), answer, name in args.cancel))
    await asyncio.wait_for(asyncio.gather(*(run(c, args, callers) for c in callers)), 120)
    print(json.dumps({c.name: c.report for c in callers}, default=str))


if __name__ == "__main__":
    asyncio.run(main())
