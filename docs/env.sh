# The shell variables every example in README.md and docs/ uses: the mock's address, and the demo app,
# its installed instance and the Headless OAuth app of the built-in scenario (scenarios/default.yaml).
# `source docs/env.sh` from the repository root; the examples need curl, jq and python3.
BASE=${WIX_MOCK_URL:-http://127.0.0.1:8787}          # where the mock listens (WIX_MOCK_URL overrides)
APP_ID=5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10         APP_SECRET=mock-app-secret-0001
INSTANCE_ID=54f783ac-8c25-4a73-9ebf-a1125f71c5e3
CLIENT_ID=0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5      CLIENT_SECRET=mock-oauth-app-secret-0001
REDIRECT=http://localhost:3000/wix/oauth/callback    # one of the demo app's registered redirect URLs
# query URL NAME: one query parameter of a URL
query() { python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlsplit(sys.argv[1]).query)[sys.argv[2]][0])' "$@"; }
