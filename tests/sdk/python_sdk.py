"""The official Python SDK (PyPI `telnyx`) against the emulator.

Run by scripts/conformance.sh with TELNYX_BASE_URL and TELNYX_API_KEY pointing at a running
`telnyx-edge storage kv serve`. Exits non-zero, naming the step, on the first mismatch.
"""

import os
import time

import telnyx

client = telnyx.Telnyx(
    api_key=os.environ["TELNYX_API_KEY"],
    base_url=os.environ["TELNYX_BASE_URL"],
    max_retries=0,
)
kvs = client.storage.kvs


def check(step, got, want):
    if got != want:
        raise SystemExit(f"python sdk: {step}: got {got!r}, want {want!r}")


created = kvs.create(name="python-sdk").data
check("create status", created.status, "pending")
check("create name", created.name, "python-sdk")
namespace_id = created.id

deadline = time.monotonic() + 20
while kvs.retrieve(namespace_id).data.status != "provision_ok":
    if time.monotonic() > deadline:
        raise SystemExit("python sdk: the namespace never reached provision_ok")
    time.sleep(0.1)

for i in range(25):
    kvs.create(name=f"python-sdk-{i:02d}")
# Auto-pagination follows page[number] until meta.total_pages.
names = [ns.name for ns in kvs.list(page_size=7) if ns.name.startswith("python-sdk")]
check("namespace list length", len(names), 26)
check("namespace list has all", sorted(names), sorted(["python-sdk"] + [f"python-sdk-{i:02d}" for i in range(25)]))

value = bytes(range(256))
kvs.keys.update("user/123", value, id=namespace_id)
kvs.keys.update("expiring", b"soon", id=namespace_id, ttl_secs=60)
got = kvs.keys.retrieve("user/123", id=namespace_id)
check("value bytes", got.read(), value)
check("content type", got.headers.get("content-type"), "application/octet-stream")

for i in range(5):
    kvs.keys.update(f"group/{i}", b"x", id=namespace_id)
# Auto-pagination follows meta.cursor while meta.has_more.
keys = [k.key for k in kvs.keys.list(namespace_id, prefix="group/", limit=2)]
check("key list", keys, [f"group/{i}" for i in range(5)])

kvs.keys.delete("user/123", id=namespace_id)
try:
    kvs.keys.retrieve("user/123", id=namespace_id)
    raise SystemExit("python sdk: a deleted key was still readable")
except telnyx.NotFoundError:
    pass

try:
    kvs.create(name="python-sdk")
    raise SystemExit("python sdk: a duplicate name was accepted")
except telnyx.ConflictError as err:
    check("duplicate status", err.status_code, 409)
    check("duplicate code", err.response.json()["errors"][0]["code"], "10012")

deleted = kvs.delete(namespace_id).data
check("delete status", deleted.status, "deleting")
print("python sdk: ok")
