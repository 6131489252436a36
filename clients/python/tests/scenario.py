#!/usr/bin/python3
"""End-to-end scenario of the Python client against a running controller with agents.

    python clients/python/tests/scenario.py ENDPOINT TOKEN PATCH_DIR TRUST_PEM BASE_RPM HOST [HOST ...]

PATCH_DIR holds 001.patch, 002.patch (requires 001) and 003.patch (requires 002); TRUST_PEM is a
public key the controller does not trust yet; BASE_RPM an RPM not in the base feed; the first
HOST is the one installed with the streaming host_install (compute-0 must be one of them). The
scenario walks the whole API:

* patches: upload, show, query, apply, host_install / host_install_async + watch_operation,
  what_requires, query_dependencies (recursive and not), is_available, remove, delete,
  commit (dry run, then for real), fetch_package, watch_events;
* orchestration: create, watch_strategy to ready-to-apply, apply stage 0 only, abort while paused,
  delete; then create, apply every stage, watch to applied, delete;
* admin: tokens create/list/revoke (a reader token gets PermissionDenied, then Unauthenticated
  once revoked), trusted keys list/add/remove, the audit log (paged);
* hosts and alarms: list/get hosts, raise/list/get/clear an alarm, lock/unlock, swact, drop;
* releases and the rest: init/del release, import_base_package, app dependencies;
* typed errors by reason (NotFound subclasses, PreconditionError, AlreadyExistsError, ...).

It prints one JSON object per line ({"step": ...}); test/integration/python-client.test.ts asserts
on them. Exit 0 when the script ran to the end. It imports the installed swpatch_client (pip
install ./clients/python), or the source tree's when none is installed.
"""
import json
import os
import sys
import time
import traceback
import uuid

try:
    import swpatch_client
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import swpatch_client

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


def settle(fetch, done, timeout=60.0):
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
        emit("error", case=name, exception=type(e).__name__, classes=[k.__name__ for k in type(e).__mro__ if k.__module__.startswith("swpatch_client")],
             code=e.code.name, details=e.details, method=e.method, reason=e.reason)
        return
    emit("error", case=name, exception=None)


def wait_strategy(c, done, timeout=180):
    """Follows watch_strategy until done(strategy); returns (the strategy, the states seen)."""
    seen = []
    for s in c.watch_strategy(timeout=timeout):
        if not seen or seen[-1] != s.state:
            seen.append(s.state)
        if done(s):
            return s, seen
    raise RuntimeError(f"watch_strategy ended in {seen}")


def strategy_fields(s):
    return {
        "state": s.state,
        "controller_apply_type": s.controller_apply_type,
        "alarm_restrictions": s.alarm_restrictions,
        "stages": [st.name for st in s.apply_phase.stages],
        "total_stages": s.apply_phase.total_stages,
        "current_stage": s.apply_phase.current_stage,
        "stop_at_stage": s.apply_phase.stop_at_stage,
        "apply_result": s.apply_phase.result,
        "apply_reason": s.apply_phase.reason,
        "build_reason": s.build_phase.reason,
    }


def install_all(c, names, patch_id):
    """Installs on every host: the first with the streaming host_install, the others with
    host_install_async + watch_operation."""
    for i, host in enumerate(names):
        if i == 0:
            progress = list(c.host_install(host))
            mode = "stream"
        else:
            op = c.host_install_async(host)
            progress = list(c.watch_operation(op))
            mode = "async"
            latest = c.get_operation(op)
            emit("get_operation", host=host, phase=phase_name(latest.phase), terminal=latest.terminal, same=latest.operation_id == op)
        last = progress[-1]
        emit("install", host=host, mode=mode, messages=len(progress), phases=sorted({phase_name(p.phase) for p in progress}),
             final=phase_name(last.phase), terminal=last.terminal, operation_id=last.operation_id)
        h, waited = settle(lambda: hosts(c), lambda v: v.get(host) == "Yes")
        emit("host_current", host=host, current=h.get(host), waited=waited)
        st, waited = settle(lambda: states(c), lambda v: i < len(names) - 1 or v.get(patch_id) == "Applied")
        emit("query", states=st, waited=waited)


def patches_part(c, patch_dir, names):
    r = c.upload(os.path.join(patch_dir, "001.patch"))
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
    install_all(c, names, r.patch_id)
    emit("hosts", hosts=hosts(c))
    emit("is_applied", result=c.is_applied([r.patch_id]))
    host = c.get_host(names[0])
    emit("get_host", hostname=host.hostname, personality=host.personality, connected=host.connected)

    expect_error(lambda: c.apply(["999"]), "apply-unknown")
    expect_error(lambda: list(c.host_install("no-such-host")), "install-unknown-host")
    expect_error(lambda: c.get_host("no-such-host"), "get-host-unknown")
    expect_error(lambda: c.get_operation(str(uuid.uuid4())), "operation-unknown")
    expect_error(lambda: c.del_release("99.99"), "del-release-unknown")
    bad = os.path.join(patch_dir, "not-a-patch.txt")
    with open(bad, "wb") as f:
        f.write(b"x" * 10)
    try:
        expect_error(lambda: c.upload(bad), "upload-bad-name")
    finally:
        os.unlink(bad)

    # Requirements: 002 requires 001, 003 requires 002.
    for pid in ("002", "003"):
        emit("upload_more", patch_id=c.upload(os.path.join(patch_dir, f"{pid}.patch")).patch_id)
    emit("what_requires", requirements={q.patch_id: list(q.required_by) for q in c.what_requires(["001", "002", "003"])})
    emit("query_dependencies", direct=c.query_dependencies(["003"]), recursive=c.query_dependencies(["003"], recursive=True))
    emit("is_available", result=c.is_available(["002", "003"]))
    expect_error(lambda: c.query_dependencies(["nope"]), "query-dependencies-unknown")
    expect_error(lambda: c.apply(["003"]), "apply-requirement-missing")
    a = c.apply(["002", "003"])
    emit("apply_more", applied=sorted(a.applied))
    settle(lambda: hosts(c), lambda v: all(x != "Pending" for x in v.values()))
    expect_error(lambda: c.remove(["002"]), "remove-required")
    expect_error(lambda: c.delete(["003"]), "delete-applied")
    removed = c.remove(["003"])
    st, _ = settle(lambda: states(c), lambda v: v.get("003") == "Available")
    emit("remove", removed=list(removed.removed), state=st.get("003"))
    deleted = c.delete(["003"])
    emit("delete", deleted=list(deleted.deleted), states=states(c))


def admin_part(c, endpoint, trust_pem):
    created = c.create_token("reader", description="python reader")
    listed = {t.id: t for t in c.list_tokens()}
    mine = listed.get(created.info.id)
    emit("token_create", role=created.info.role, description=created.info.description, has_secret=bool(created.token),
         listed=mine is not None and not mine.revoked)
    with SwPatchClient(endpoint, token=created.token) as reader:
        emit("reader_query", ids=[p.id for p in reader.query()])
        expect_error(lambda: reader.apply(["001"]), "reader-apply")
        expect_error(lambda: reader.list_tokens(), "reader-list-tokens")
        c.revoke_token(created.info.id)
        emit("token_revoke", revoked=[t.revoked for t in c.list_tokens() if t.id == created.info.id])
        expect_error(lambda: reader.query(), "revoked-token")
    with SwPatchClient(endpoint, token="wrong-token") as anon:
        expect_error(anon.query, "bad-token")

    enrolled = c.enroll_host("py-host", "worker", expires_seconds=600)
    pending = [(e.hostname, e.state) for e in c.list_enrollments() if e.id == enrolled.enrollment.id]
    revoked_host = c.revoke_host("py-host")
    emit("enroll", token_prefix=enrolled.enroll_token[:5], personality=enrolled.enrollment.personality, pending=pending,
         revoked_enrollments=list(revoked_host.revoked_enrollment_ids) == [enrolled.enrollment.id],
         states=[e.state for e in c.list_enrollments() if e.id == enrolled.enrollment.id])
    expect_error(lambda: c.revoke_host("py-ghost"), "revoke-unknown-host")

    before = [k.label for k in c.list_trusted_keys()]
    with open(trust_pem) as f:
        pem = f.read()
    key = c.add_trusted_key("py-extra", pem)
    after_add = [k.label for k in c.list_trusted_keys()]
    expect_error(lambda: c.add_trusted_key("py-again", pem), "trust-duplicate")
    c.remove_trusted_key("py-extra")
    after_remove = [k.label for k in c.list_trusted_keys()]
    emit("trust", before=before, added=key.label, fingerprint_len=len(key.fingerprint_sha256), after_add=after_add, after_remove=after_remove)
    expect_error(lambda: c.remove_trusted_key("py-nope"), "trust-remove-unknown")
    expect_error(lambda: c.remove_trusted_key(before[0]), "trust-remove-configured")

    alarm = c.raise_alarm("100.101", "host=compute-0", "minor", "python test alarm")
    listed = [a.uuid for a in c.list_alarms()]
    got = c.get_alarm(alarm.uuid)
    c.clear_alarm(alarm.uuid)
    emit("alarm", raised=alarm.alarm_id, listed=alarm.uuid in listed, got=got.reason_text,
         cleared=alarm.uuid not in [a.uuid for a in c.list_alarms()])


def orchestration_part(c):
    expect_error(lambda: c.get_strategy(), "strategy-get-none")
    expect_error(lambda: c.delete_strategy(), "strategy-delete-none")
    expect_error(lambda: c.apply_strategy(), "strategy-apply-none")
    built = lambda s: s.state in ("ready-to-apply", "build-failed")  # noqa: E731

    # 1: apply the first stage only, then abort while it waits for the next apply.
    created = c.create_strategy(controller_apply_type="serial", worker_apply_type="serial", alarm_restrictions="relaxed", on_failure="abort")
    emit("strategy_create", state=created.state, uuid=bool(created.uuid))
    expect_error(lambda: c.create_strategy(), "strategy-exists")
    s, seen = wait_strategy(c, built)
    emit("strategy_built", seen=seen, **strategy_fields(s))
    expect_error(lambda: c.abort_strategy(), "strategy-abort-not-applying")
    expect_error(lambda: c.resume_strategy(), "strategy-resume-not-paused")
    c.apply_strategy(stage_id=0)
    s, seen = wait_strategy(c, lambda s: s.state != "applying" or s.apply_phase.current_stage >= s.apply_phase.stop_at_stage)
    emit("strategy_stage0", seen=seen, **strategy_fields(s))
    aborted = c.abort_strategy()
    emit("strategy_abort", **strategy_fields(aborted))
    emit("strategy_get", **strategy_fields(c.get_strategy()))
    c.delete_strategy()
    expect_error(lambda: c.get_strategy(), "strategy-get-deleted")

    # 2: apply every stage.
    c.create_strategy(alarm_restrictions="relaxed")
    s, _ = wait_strategy(c, built)
    emit("strategy2_built", **strategy_fields(s))
    c.apply_strategy()
    s, seen = wait_strategy(c, lambda s: s.state in ("applied", "apply-failed", "aborted", "apply-timeout"))
    emit("strategy2_done", seen=seen, **strategy_fields(s))
    c.delete_strategy()
    h, waited = settle(lambda: hosts(c), lambda v: all(x == "Yes" for x in v.values()))
    st, _ = settle(lambda: states(c), lambda v: v.get("002") == "Applied")
    emit("after_strategy", hosts=h, states=st)


def commit_part(c):
    dry = c.commit(all=True, dry_run=True)
    emit("commit_dry_run", patch_ids=sorted(dry.patch_ids), freed_bytes=dry.freed_bytes, info=dry.messages.info, states=states(c))
    done = c.commit(all=True)
    emit("commit", patch_ids=sorted(done.patch_ids), info=done.messages.info, states=states(c))
    expect_error(lambda: c.remove(["001"]), "remove-committed")


def audit_part(c):
    entries = c.list_audit_log(limit=1000)
    emit("audit", count=len(entries), actions=sorted({e.action for e in entries}),
         increasing=[e.id for e in entries] == sorted({e.id for e in entries}),
         outcomes=sorted({e.outcome for e in entries}))
    page = c.list_audit_log(after_id=entries[0].id, limit=2)
    emit("audit_page", ids_after_first=all(e.id > entries[0].id for e in page), size=len(page))


def events_part(c, patch_id):
    patch_kinds = ["patch.uploaded", "patch.applied", "patch.state"]
    last_seq = c.controller_info().last_event_sequence
    seen = []
    for ev in c.watch_events(after_sequence=0, kinds=patch_kinds, patch_id=patch_id, timeout=30):
        seen.append({"seq": ev.sequence, "kind": ev.kind, "new_state": ev.new_state})
        if ev.new_state == "Applied":
            break
    seqs = [e["seq"] for e in seen]
    emit("events", last_sequence=last_seq, events=seen, increasing=seqs == sorted(set(seqs)))
    kinds = {}
    try:
        for ev in c.watch_events(after_sequence=0, timeout=30):
            kinds[ev.kind] = kinds.get(ev.kind, 0) + 1
            if ev.sequence >= last_seq:
                break
        emit("events_all", kinds=kinds)
    except SwPatchError as e:
        emit("events_all", kinds=kinds, exception=type(e).__name__, code=e.code.name, details=e.details)


def misc_part(c, base_rpm):
    """The remaining calls: application dependencies, releases, base packages, lock/unlock,
    swact, drop."""
    c.report_app_dependencies("py-app", ["002"])
    with_app = c.query_app_dependencies()
    c.report_app_dependencies("py-app", [])
    emit("app_dependencies", reported=with_app, after_clear=c.query_app_dependencies())

    created = c.init_release("20.06").messages.info.strip()
    again = c.init_release("20.06").messages.info.strip()
    releases = list(c.controller_info().releases)
    deleted = c.del_release("20.06").messages.info.strip()
    emit("releases", created=created, again=again, listed="20.06" in releases, deleted=bool(deleted),
         after="20.06" in c.controller_info().releases)

    first = c.import_base_package(base_rpm, "19.09")
    second = c.import_base_package(base_rpm, "19.09", chunk_size=1024)
    listed = [b for b in c.list_base_packages("19.09") if b.package.file_name == first.package.file_name]
    emit("import_base_package", name=first.package.name, file_name=first.package.file_name, added=[first.added, second.added],
         listed=[[b.signer, bool(b.imported_by), b.imported_at.seconds > 0] for b in listed])
    expect_error(lambda: c.import_base_package(base_rpm, "19.09", file_name="x.txt"), "import-bad-name")

    locked = c.lock_host("compute-0")
    unlocked = c.unlock_host("compute-0")
    emit("lock_unlock", locked=locked.admin_state, unlocked=unlocked.host.admin_state, rebooting=unlocked.rebooting)
    expect_error(lambda: c.unlock_host("compute-0"), "unlock-unlocked")

    active = [h.hostname for h in c.list_hosts() if h.active_controller]
    expect_error(lambda: c.swact_host("compute-0"), "swact-worker")
    new_active = c.swact_host(active[0])
    emit("swact", before=active, after=new_active, flagged=[h.hostname for h in c.list_hosts() if h.active_controller])

    dropped = c.drop_host("compute-0")
    back, waited = settle(lambda: {h.hostname: h.connected for h in c.list_hosts()}, lambda v: v.get("compute-0") is True)
    emit("drop_host", info=dropped.messages.info.strip(), back=back.get("compute-0"), waited=waited)
    expect_error(lambda: c.drop_host("no-such-host"), "drop-unknown")


def main(argv):
    endpoint, token, patch_dir, trust_pem, base_rpm = argv[1], argv[2], argv[3], argv[4], argv[5]
    names = argv[6:]
    emit("module", file=swpatch_client.__file__, version=swpatch_client.__version__)
    with SwPatchClient(endpoint, token=token) as c:
        patches_part(c, patch_dir, names)
        admin_part(c, endpoint, trust_pem)
        orchestration_part(c)
        commit_part(c)
        show = c.show(["001"]).patches[0]
        pkg = show.packages[0]
        data = b"".join(c.fetch_package(pkg.sha256))
        emit("fetch_package", file_name=pkg.file_name, size=len(data), expected=pkg.size_bytes)
        audit_part(c)
        events_part(c, "001")
        misc_part(c, base_rpm)
    emit("done")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # report, then fail
        emit("crash", error=f"{type(e).__name__}: {e}", trace=traceback.format_exc())
        sys.exit(1)
