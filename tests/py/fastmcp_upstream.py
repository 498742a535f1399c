"""A Python `mcp` SDK (MCPServer, formerly FastMCP) upstream for toolyard's gateway tests.

Usage: fastmcp_upstream.py stdio | sse PORT | streamable-http PORT

Tools: echo, add, slow_report (which carries `execution.taskSupport`, a field rmcp's typed
Tool does not model: the gateway must pass it through unchanged on 2025-11-25 connections),
count (reports progress step by step, labelled; may run as a task).

Tasks (2026-07-28 tasks extension, SEP-2663, on connections whose client declares it): the
tools `ask_task` and `wait_task` (`taskSupport: "required"`) always become tasks here, served
by `tasks/get`, `tasks/update` and `tasks/cancel`. `ask_task(label)` asks a question
(`input_required` with an elicitation) and completes with the answer; `wait_task(label)` runs
until it is cancelled. `task_log` lists what happened to tasks (`created LABEL`, `cancelled
LABEL`, `answered LABEL`), so a test can see what reached this server.
"""

import asyncio
import datetime
import sys
import uuid
from typing import Any

import anyio
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import RequestParams
from pydantic import ConfigDict, Field

TASKS = "io.modelcontextprotocol/tasks"
TASK_TOOLS = ("ask_task", "wait_task")
LOG: list[str] = []


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text_result(text: str) -> dict:
    """A tool result as the task tools' output schema (`-> str`) wants it."""
    return {"content": [{"type": "text", "text": text}], "structuredContent": {"result": text}}


class TaskParams(RequestParams):
    model_config = ConfigDict(extra="allow")
    task_id: str = Field(alias="taskId")


class Task:
    """One task of this server."""

    def __init__(self, tool: str, label: str):
        self.id = uuid.uuid4().hex
        self.tool = tool
        self.label = label
        self.status = "working"
        self.message: str | None = None
        self.created = self.updated = now()
        self.result: dict | None = None
        self.questions: dict[str, Any] = {}
        self.answered: asyncio.Future = asyncio.get_running_loop().create_future()
        self.runner: asyncio.Task | None = None

    def set(self, status: str, message: str | None = None):
        self.status, self.message, self.updated = status, message, now()

    def view(self) -> dict:
        task = {
            "taskId": self.id,
            "status": self.status,
            "createdAt": self.created,
            "lastUpdatedAt": self.updated,
            "ttlMs": 60000,
            "pollIntervalMs": 100,
        }
        if self.message is not None:
            task["statusMessage"] = self.message
        if self.status == "input_required":
            task["inputRequests"] = self.questions
        if self.status == "completed":
            task["result"] = self.result
        return task

    async def run(self):
        if self.tool == "wait_task":
            self.set("working", f"waiting: {self.label}")
            await asyncio.sleep(120)
            self.result = text_result(f"{self.label} waited")
            self.set("completed")
            return
        self.set("working", f"started: {self.label}")
        self.questions = {
            "name": {
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": f"who is {self.label} for?",
                    "requestedSchema": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                    },
                },
            }
        }
        self.set("input_required", f"asking: {self.label}")
        answer = await self.answered
        name = (answer.get("content") or {}).get("name", "?")
        LOG.append(f"answered {self.label}")
        self.questions = {}
        self.set("working", f"answered: {self.label}")
        await asyncio.sleep(0.2)
        self.result = text_result(f"{self.label} done for {name}")
        self.set("completed", f"done: {self.label}")


class Tasks(Extension):
    """The 2026-07-28 tasks extension for `TASK_TOOLS`."""

    identifier = TASKS

    def __init__(self):
        self.tasks: dict[str, Task] = {}

    def methods(self):
        return [
            MethodBinding("tasks/get", TaskParams, self.get),
            MethodBinding("tasks/update", TaskParams, self.update),
            MethodBinding("tasks/cancel", TaskParams, self.cancel),
        ]

    def task(self, params: TaskParams) -> Task:
        task = self.tasks.get(params.task_id)
        if task is None:
            raise ValueError(f"unknown task {params.task_id}")
        return task

    async def intercept_tool_call(self, params, ctx: ServerRequestContext, call_next):
        capabilities = ctx.session.client_capabilities
        declared = capabilities is not None and TASKS in (capabilities.extensions or {})
        if params.name not in TASK_TOOLS or not declared:
            return await call_next(ctx)
        task = Task(params.name, (params.arguments or {}).get("label", "?"))
        self.tasks[task.id] = task
        LOG.append(f"created {task.label}")
        task.runner = asyncio.get_running_loop().create_task(task.run())
        return {"resultType": "task", **task.view()}

    async def get(self, ctx, params: TaskParams):
        return self.task(params).view()

    async def update(self, ctx, params: TaskParams):
        task = self.task(params)
        responses = (params.model_extra or {}).get("inputResponses") or {}
        if task.status == "input_required" and "name" in responses and not task.answered.done():
            task.answered.set_result(responses["name"])
        return {}

    async def cancel(self, ctx, params: TaskParams):
        task = self.task(params)
        if task.status not in ("completed", "failed", "cancelled"):
            if task.runner is not None:
                task.runner.cancel()
            task.set("cancelled")
            LOG.append(f"cancelled {task.label}")
        return {}


class Upstream(MCPServer):
    async def list_tools(self):
        tools = await super().list_tools()
        for tool in tools:
            if tool.name in ("slow_report", "count"):
                tool.execution = types.ToolExecution(task_support="optional")
            if tool.name in TASK_TOOLS:
                tool.execution = types.ToolExecution(task_support="required")
        return tools


server = Upstream("py-upstream", extensions=[Tasks()])


@server.tool()
def echo(message: str) -> str:
    """Echo a message with a prefix."""
    return f"py: {message}"


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def slow_report() -> str:
    """A tool that declares optional task support."""
    return "report ready"


@server.tool()
async def count(steps: int, label: str, ctx: Context) -> str:
    """Reports `steps` steps of progress, each labelled `label`, a little apart."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"{label} {step}")
        await anyio.sleep(0.005)
    return f"{label} counted {steps}"


@server.tool()
def ask_task(label: str) -> str:
    """Asks who the work is for, then does it (only as a task)."""
    raise ValueError("ask_task runs only as a task")


@server.tool()
def wait_task(label: str) -> str:
    """Runs until cancelled (only as a task)."""
    raise ValueError("wait_task runs only as a task")


@server.tool()
def task_log() -> str:
    """What happened to this server's tasks, one event a line."""
    return "\n".join(LOG)


@server.tool()
async def impatient_sample(ctx: Context) -> str:
    """Asks the caller's model, but gives up (and cancels the request) after half a second."""
    with anyio.move_on_after(0.5):
        await ctx.session.create_message(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(type="text", text="hi"))],
            max_tokens=5,
        )
        return "answered"
    return "gave up"


if __name__ == "__main__":
    transport = sys.argv[1]
    if transport == "stdio":
        server.run()
    elif transport == "sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
