#!/usr/bin/python3
"""End-to-end scenario of the Python client against a running controller with agents.

    /usr/bin/python3 clients/python/tests/scenario.py ENDPOINT TOKEN PATCHFILE [HOST ...]

Uploads PATCHFILE, applies it, queries, installs it on every host (the first with the streaming
host_install, the others with host_install_async + watch_operation), then checks error mapping and
replays the event log with watch_events. Prints one JSON object per line ({"step": ...});
test/integration/python-client.test.ts asserts on them. Exit 0 when the script ran to the end.
"""
import json
import os
import sys
import time
import traceback
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swpatch_client import (  # noqa: E402
    SwPatchClient,
    SwPatchError,
    patch_current_name,
    patch_state_name,
    phase_name,
)


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}, sort_keys=True), flush=True)


def states(c):
    return {p.id: patch_state_name(p.patch_state) for p in c.query()}


def hosts(c):
    return {h.hostname: patch_current_name(h.patch_current) for h in c.list_hosts()}


def settle(fetch, done, timeout=30.0):
    """Polls fetch() until done(value) (hosts report their new state a moment after an install
    ends, and the patch state follows); returns the last value and the seconds waited."""
    start = time.monotonic()
    while True:
        value = fetch()
        if done(value) or time.monotonic() - start > timeout:
            return value, round(time.monotonic() - start, 2)
        time.sleep(0.1)


def expect_error(c_call, name):
    try:
        c_call()
    except SwPatchError as e:
        emit("error", case=name, exception=type(e).__name__, code=e.code.name, details=e.details, method=e.method, reason=e.reason)
        return
    emit("error", case=name, exception=None)


def main(argv):
    endpoint, token, patch_file = argv[1], argv[2], argv[3]
    host_names = argv[4:]
    with SwPatchClient(endpoint, token=token, timeout=30.0) as c:
        r = c.upload(patch_file)
        emit("upload", patch_id=r.patch_id, info=r.messages.info.strip())
        emit("query", states=states(c))
        shown = c.show([r.patch_id, "nope"])
        emit("show", ids=[p.id for p in shown.patches], unrecognized=list(shown.unrecognized),
             release=shown.patches[0].sw_version, reboot_required=shown.patches[0].reboot_required)
        a = c.apply([r.patch_id])
        emit("apply", info=a.messages.info.strip(), applied=list(a.applied))
        emit("query", states=states(c))
        h, waited = settle(lambda: hosts(c), lambda v: all(x != "Pending" for x in v.values()))
        emit("hosts", hosts=h, waited=waited)
        names = host_names or [h.hostname for h in c.list_hosts()]
        for i, host in enumerate(names):
            if i == 0:
                progress = list(c.host_install(host))
                mode = "stream"
            else:
                op = c.host_install_async(host)
                progress = list(c.watch_operation(op))
                mode = "async"
            last = progress[-1]
            emit("install", host=host, mode=mode, messages=len(progress), phases=sorted({phase_name(p.phase) for p in progress}),
                 final=phase_name(last.phase), terminal=last.terminal, operation_id=last.operation_id)
            h, waited = settle(lambda: hosts(c), lambda v: v.get(host) == "Yes")
            emit("host_current", host=host, current=h.get(host), waited=waited)
            st, waited = settle(lambda: states(c), lambda v: i < len(names) - 1 or v.get(r.patch_id) == "Applied")
            emit("query", states=st, waited=waited)
        emit("hosts", hosts=hosts(c))
        emit("is_applied", result=c.is_applied([r.patch_id]))

        expect_error(lambda: c.apply(["999"]), "apply-unknown")
        expect_error(lambda: list(c.host_install("no-such-host")), "install-unknown-host")
        expect_error(lambda: c.get_operation(str(uuid.uuid4())), "operation-unknown")
        expect_error(lambda: c.del_release("99.99"), "del-release-unknown")
        bad = os.path.join(os.path.dirname(os.path.abspath(patch_file)), "not-a-patch.txt")
        with open(bad, "wb") as f:
            f.write(b"x" * 10)
        try:
            expect_error(lambda: c.upload(bad), "upload-bad-name")
        finally:
            os.unlink(bad)
        with SwPatchClient(endpoint, token="wrong-token") as anon:
            expect_error(anon.query, "bad-token")

        # The patch events, replayed from the start of the log up to the latest one.
        patch_kinds = ["patch.uploaded", "patch.applied", "patch.state"]
        last_seq = c.controller_info().last_event_sequence
        seen = []
        for ev in c.watch_events(after_sequence=0, kinds=patch_kinds, patch_id=r.patch_id, timeout=30):
            seen.append({"seq": ev.sequence, "kind": ev.kind, "new_state": ev.new_state})
            if ev.new_state == "Applied":
                break
        seqs = [e["seq"] for e in seen]
        emit("events", last_sequence=last_seq, events=seen, increasing=seqs == sorted(set(seqs)))
        # The whole log, install progress included.
        kinds = {}
        try:
            for ev in c.watch_events(after_sequence=0, timeout=30):
                kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
                if ev.sequence >= last_seq:
                    break
            emit("events_all", kinds=kinds)
        except SwPatchError as e:
            emit("events_all", kinds=kinds, exception=type(e).__name__, code=e.code.name, details=e.details)
    emit("done")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # report, then fail
        emit("crash", error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())
        sys.exit(1)
