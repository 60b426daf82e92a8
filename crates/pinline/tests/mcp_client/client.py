"""An agent's side of pinline's MCP server, with the official MCP Python SDK.

Run by tests/mcp.rs with the environment it names. Over one transport (stdio: `pinline mcp` as
a child process; http: the running pinline's /mcp), it lists the tools, reads the accounts,
publishes one pin and follows it until it is live, makes one call the API refuses, and prints
what it saw as one JSON object on stdout for the test to check.
"""

import asyncio
import json
import os
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def text_of(result):
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def exercise(session, transport):
    await session.initialize()
    tools = sorted(tool.name for tool in (await session.list_tools()).tools)
    account_id = os.environ["PINLINE_TEST_ACCOUNT"]
    board_id = os.environ["PINLINE_TEST_BOARD"]
    accounts = await session.call_tool("list_accounts", {})
    listed = json.loads(text_of(accounts))
    created = await session.call_tool(
        "create_post",
        {
            "account_id": account_id,
            "board_id": board_id,
            "title": f"Posted by an agent over {transport}",
            "image_url": "https://example.invalid/agent.jpg",
            "idempotency_key": f"agent-{transport}",
        },
    )
    post = json.loads(text_of(created))
    deadline = time.monotonic() + 20
    status = post.get("status")
    while status != "published" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        shown = await session.call_tool("get_post", {"post_id": post["id"]})
        status = json.loads(text_of(shown)).get("status")
    refused = await session.call_tool(
        "create_post",
        {"account_id": account_id, "board_id": board_id, "title": "x" * 101,
         "image_url": "https://example.invalid/long.jpg"},
    )
    return {
        "transport": transport,
        "tools": tools,
        "accounts": [account["id"] for account in listed.get("items", [])],
        "created_error": created.is_error,
        "post_status": status,
        "refused_error": refused.is_error,
        "refused": json.loads(text_of(refused)),
    }


async def over_stdio():
    server = StdioServerParameters(
        command=os.environ["PINLINE_TEST_BINARY"],
        args=["mcp"],
        env={
            "PINLINE_URL": os.environ["PINLINE_TEST_URL"],
            "PINLINE_API_KEY": os.environ["PINLINE_TEST_KEY"],
            "PINLINE_OUTBOUND": "loopback",
        },
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            return await exercise(session, "stdio")


async def over_http(key, exercise_fn=exercise):
    url = os.environ["PINLINE_TEST_URL"] + "/mcp"
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
    async with client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                return await exercise_fn(session, "http")


async def read_only(session, transport):
    await session.initialize()
    refused = await session.call_tool(
        "create_post",
        {"account_id": os.environ["PINLINE_TEST_ACCOUNT"], "board_id": os.environ["PINLINE_TEST_BOARD"],
         "image_url": "https://example.invalid/ro.jpg"},
    )
    listed = await session.call_tool("list_posts", {})
    return {"refused_error": refused.is_error, "refused": json.loads(text_of(refused)),
            "list_error": listed.is_error}


async def main():
    which = sys.argv[1]
    if which == "stdio":
        seen = await over_stdio()
    elif which == "http":
        seen = await over_http(os.environ["PINLINE_TEST_KEY"])
    else:
        seen = await over_http(os.environ["PINLINE_TEST_READ_ONLY_KEY"], read_only)
    print(json.dumps(seen))


asyncio.run(main())
