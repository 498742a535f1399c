"""Signs a user in at the test authorization server (tests/peers/oidc) without a browser and
prints the access token for a resource: authorization code + PKCE as the public client
`toolyard-ide`, consent answered by the server, the code read from the redirect.

Usage: oidc_user_token.py ISSUER USER RESOURCE
Prints one JSON line: {"access_token": ..., "expires_in": ...}
"""

import base64
import hashlib
import http.cookiejar
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


issuer, user, resource = sys.argv[1:4]
redirect = "http://127.0.0.1:5555/callback"
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
params = {
    "client_id": "toolyard-ide",
    "response_type": "code",
    "redirect_uri": redirect,
    "scope": "openid mcp:tools",
    "resource": resource,
    "login_hint": user,
    "state": secrets.token_urlsafe(8),
    "code_challenge": challenge,
    "code_challenge_method": "S256",
}
opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
)


def location_of(url: str) -> str:
    try:
        response = opener.open(url, timeout=15)
        sys.exit(f"no redirect from {url}: {response.status} {response.read()[:300]!r}")
    except urllib.error.HTTPError as e:
        if e.code not in (302, 303, 307) or "location" not in e.headers:
            sys.exit(f"no redirect from {url}: {e.code} {e.read()[:300]!r}")
        return urllib.parse.urljoin(url, e.headers["location"])


url = f"{issuer}/auth?{urllib.parse.urlencode(params)}"
for _ in range(10):
    url = location_of(url)
    if url.startswith(redirect):
        break
query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
if "code" not in query:
    sys.exit(f"no code: {url}")
body = urllib.parse.urlencode(
    {
        "grant_type": "authorization_code",
        "client_id": "toolyard-ide",
        "code": query["code"][0],
        "code_verifier": verifier,
        "redirect_uri": redirect,
    }
).encode()
token = json.load(opener.open(urllib.request.Request(f"{issuer}/token", data=body), timeout=15))
if "access_token" not in token:
    sys.exit(f"no token: {token}")
print(json.dumps({"access_token": token["access_token"], "expires_in": token.get("expires_in")}))
