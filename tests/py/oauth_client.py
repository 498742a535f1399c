"""The Python `mcp` SDK's OAuth client against `toolyard serve` with [auth]; print one JSON report.

Usage: oauth_client.py MCP_URL [--user alice|bob] [--api-key KEY]

With OAuth (the default): the SDK's `OAuthClientProvider` gets a 401 from toolyard, reads the
protected resource metadata it names, then the authorization server's metadata, and runs the
authorization code flow with PKCE as the pre-registered public client `toolyard-ide` of
tests/peers/oidc (login and consent are automated there: the redirect handler below follows the
redirects with a cookie jar until the redirect URI, the callback hands the code back). Then it
lists the tools and calls `demo__echo`. Every HTTP request the SDK made goes into the report
(method, URL, status), so the Rust test can assert the discovery sequence.

With --api-key: the same calls with `Authorization: Bearer KEY` and no OAuth.
"""

import argparse
import asyncio
import json
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata

REDIRECT_URI = "http://127.0.0.1:5555/callback"


class MemoryStorage:
    """Tokens in memory; the client is pre-registered (oidc-provider has no dynamic registration)."""

    def __init__(self):
        self.tokens = None
        self.client = OAuthClientInformationFull(
            client_id="toolyard-ide",
            redirect_uris=[REDIRECT_URI],
            token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope="mcp:tools",
        )

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


class Browser:
    """Follows the authorization request's redirects like a browser would, without a page."""

    def __init__(self, user):
        self.user = user
        self.result = None

    async def redirect(self, authorization_url):
        url = authorization_url + f"&login_hint={self.user}"
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
            for _ in range(10):
                if url.startswith(REDIRECT_URI):
                    break
                response = await http.get(url)
                location = response.headers.get("location")
                if not location:
                    raise RuntimeError(f"no redirect from {url}: {response.status_code} {response.text}")
                url = str(response.url.join(location))
        query = parse_qs(urlparse(url).query)
        if "code" not in query:
            raise RuntimeError(f"no code in {url}")
        self.result = AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )

    async def callback(self):
        return self.result


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--api-key")
    args = parser.parse_args()

    exchanges = []

    async def log_response(response):
        exchanges.append(
            {"method": response.request.method, "url": str(response.request.url), "status": response.status_code}
        )

    hooks = {"response": [log_response]}
    if args.api_key:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {args.api_key}"}, event_hooks=hooks)
    else:
        browser = Browser(args.user)
        provider = OAuthClientProvider(
            server_url=args.url,
            client_metadata=OAuthClientMetadata(
                redirect_uris=[REDIRECT_URI],
                token_endpoint_auth_method="none",
                scope="mcp:tools",
                client_name="toolyard test",
            ),
            storage=MemoryStorage(),
            redirect_handler=browser.redirect,
            callback_handler=browser.callback,
        )
        http = httpx2.AsyncClient(auth=provider, event_hooks=hooks, timeout=30)

    report = {}
    async with http:
        client = Client(streamable_http_client(args.url, http_client=http), mode="legacy", read_timeout_seconds=30)
        async with client:
            tools = await client.list_tools()
            report["tools"] = [t.name for t in tools.tools]
            result = await client.call_tool("demo__echo", {"message": f"hello from {args.user}"})
            report["echo"] = text_of(result)
    report["exchanges"] = exchanges
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), timeout=60))
