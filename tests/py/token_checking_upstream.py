"""An HTTP MCP upstream that is an OAuth resource server (the Python `mcp` SDK's own bearer
auth), for toolyard's upstream-credential tests.

Usage: token_checking_upstream.py PORT ISSUER

It accepts only JWT access tokens signed by ISSUER's keys (its JWKS), with `aud` equal to its own
URL (http://127.0.0.1:PORT/mcp) and the `mcp:tools` scope; anything else is a 401 from the SDK.
Tools: `whoami` (the verified claims of the token the call came with: sub, client_id, aud, act)
and `tokens_seen` (every token presented to it so far, verified or not, as claims without
signatures checked: so a test can assert what reached this server, e.g. never a caller's own
token).
"""

import json
import sys
import time

import jwt
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

PORT = int(sys.argv[1])
ISSUER = sys.argv[2]
RESOURCE = f"http://127.0.0.1:{PORT}/mcp"
SEEN: list[dict] = []
JWKS = jwt.PyJWKClient(f"{ISSUER}/jwks")


class Verifier:
    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            SEEN.append(jwt.decode(token, options={"verify_signature": False}))
        except jwt.PyJWTError:
            SEEN.append({"unparsable": True})
        try:
            key = JWKS.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256", "ES256"], audience=RESOURCE, issuer=ISSUER
            )
        except jwt.PyJWTError:
            return None
        return AccessToken(
            token=token,
            client_id=claims.get("client_id", ""),
            scopes=claims.get("scope", "").split(),
            expires_at=claims.get("exp"),
            resource=RESOURCE,
            subject=claims.get("sub"),
            claims=claims,
        )


server = MCPServer(
    "token-checking",
    token_verifier=Verifier(),
    auth=AuthSettings(
        issuer_url=ISSUER,
        resource_server_url=RESOURCE,
        required_scopes=["mcp:tools"],
        validate_token_resource=True,
    ),
)


@server.tool()
def whoami() -> str:
    """The verified claims of the token this call came with."""
    token = get_access_token()
    claims = (token.claims or {}) if token else {}
    keep = {k: claims.get(k) for k in ("sub", "client_id", "aud", "act", "scope")}
    return json.dumps(keep, sort_keys=True)


@server.tool()
def tokens_seen() -> str:
    """Every token presented so far (claims only, unverified), oldest first."""
    return json.dumps(SEEN)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=PORT, log_level="warning")
