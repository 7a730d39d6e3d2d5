"""Drives Docent's MCP server with the official MCP Python SDK and prints what it saw as JSON.

Usage: mcp_client.py <base url> <api key>. The Rust end-to-end test runs it and checks the output.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "\n".join(part.text for part in result.content if getattr(part, "type", "") == "text")


async def main(base_url: str, key: str) -> None:
    report = {}
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    async with Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client:
        tools = await client.list_tools()
        report["tools"] = sorted(tool.name for tool in tools.tools)

        search = await client.call_tool("search_docs", {"query": "database is locked", "k": 3})
        report["search_error"] = search.is_error
        report["search_top_url"] = search.structured_content["results"][0]["url"]

        ask = await client.call_tool("ask", {"question": "Does Harbor run on Windows?"})
        report["ask_text"] = text_of(ask)
        report["ask_first_source"] = ask.structured_content["sources"][0]["url"]

        created = await client.call_tool("create_ticket", {"subject": "Dashboard will not start", "description": "Port 7410 is taken."})
        ticket_id = created.structured_content["ticket"]["id"]
        report["created_status"] = created.structured_content["ticket"]["status"]

        listed = await client.call_tool("list_tickets", {"status": "open"})
        report["listed_ids"] = [t["id"] for t in listed.structured_content["tickets"]]
        report["ticket_id"] = ticket_id

        updated = await client.call_tool("update_ticket", {"id": ticket_id, "status": "pending", "assignee": "sam", "comment": "Looking into it"})
        report["updated"] = {k: updated.structured_content["ticket"][k] for k in ("status", "assignee")}

        bad = await client.call_tool("update_ticket", {"id": ticket_id, "status": "bogus"})
        report["bad_update_is_error"] = bad.is_error
        report["bad_update_text"] = text_of(bad)

        fetched = await client.call_tool("get_ticket", {"id": ticket_id})
        report["audit_actions"] = [entry["action"] for entry in fetched.structured_content["audit"]]
        report["comments"] = [c["text"] for c in fetched.structured_content["ticket"]["comments"]]

        missing = await client.call_tool("get_ticket", {"id": "t_nope"})
        report["missing_is_error"] = missing.is_error
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
