"""Unit tests of swpatch_client against an in-process gRPC server (real HTTP/2 on 127.0.0.1:0)
that plays the controller's part: watch_events resume, deadlines, streamed uploads, typed errors.

    /usr/bin/python3 -m unittest discover -s clients/python/tests -p 'test_*.py'

(run with the installed package, or with clients/python on sys.path).
"""
import os
import socket
import tempfile
import threading
import unittest
from concurrent import futures

import grpc

try:
    import swpatch_client  # noqa: F401  (installed)
except ImportError:  # pragma: no cover - run from the source tree
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swpatch_client import (  # noqa: E402
    InsecureTransportError,
    InternalError,
    PatchNotFoundError,
    PermissionDeniedError,
    StrategyNotFoundError,
    SwPatchClient,
    UnavailableError,
    is_loopback_host,
)
from swpatch_client.gen.swpatch.v1 import orchestration_service_pb2 as orch_pb  # noqa: E402
from swpatch_client.gen.swpatch.v1 import orchestration_service_pb2_grpc as orch_grpc  # noqa: E402
from swpatch_client.gen.swpatch.v1 import patch_service_pb2 as patches_pb  # noqa: E402
from swpatch_client.gen.swpatch.v1 import patch_service_pb2_grpc as patches_grpc  # noqa: E402
from swpatch_client.gen.swpatch.v1 import types_pb2 as types_pb  # noqa: E402


def event(seq):
    return patches_pb.WatchEventsResponse(event=types_pb.Event(sequence=seq, kind="patch.state"))


class FakePatches(patches_grpc.PatchServiceServicer):
    """Records what the client sent; each WatchEvents call plays the next script."""

    def __init__(self):
        self.watch_requests = []
        self.watch_scripts = []
        self.remaining = []
        self.metadata = []
        self.upload = None

    def WatchEvents(self, request, context):
        self.watch_requests.append(request.after_sequence)
        script = self.watch_scripts.pop(0)
        for seq in script["events"]:
            yield event(seq)
        if "abort" in script:
            context.abort(*script["abort"])
        if script.get("block"):
            threading.Event().wait(30)  # a live stream with nothing new: ends when the client cancels

    def QueryPatches(self, request, context):
        self.remaining.append(context.time_remaining())
        self.metadata.append(dict(context.invocation_metadata()))
        return patches_pb.QueryPatchesResponse(patches=[types_pb.Patch(id="001")])

    def ShowPatches(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "Patch 009 does not exist")  # no reason trailer

    def ApplyPatches(self, request, context):
        context.abort(grpc.StatusCode.INTERNAL, "internal error (ref 42)")

    def UploadPatch(self, request_iterator, context):
        reqs = list(request_iterator)
        self.upload = {
            "header": reqs[0].header,
            "chunks": [r.chunk for r in reqs[1:]],
            "kinds": [r.WhichOneof("payload") for r in reqs],
        }
        return patches_pb.UploadPatchResponse(patch_id="001")


class FakeOrchestration(orch_grpc.OrchestrationServiceServicer):
    def DeleteStrategy(self, request, context):
        context.set_trailing_metadata((("swpatch-error-reason", "STRATEGY_NOT_FOUND"), ("swpatch-error-domain", "swpatch.v1")))
        context.abort(grpc.StatusCode.NOT_FOUND, "No strategy available")

    def WatchStrategy(self, request, context):
        yield orch_pb.WatchStrategyResponse(strategy=orch_pb.Strategy(uuid="u1", state="building"))
        yield orch_pb.WatchStrategyResponse()  # no strategy: skipped
        yield orch_pb.WatchStrategyResponse(strategy=orch_pb.Strategy(uuid="u1", state="ready-to-apply"))
        threading.Event().wait(30)


#: RPCs whose Python method is not the snake_case of their name.
ALIASES = {
    "UploadPatch": "upload",
    "QueryPatches": "query",
    "ShowPatches": "show",
    "ApplyPatches": "apply",
    "RemovePatches": "remove",
    "DeletePatches": "delete",
    "CommitPatches": "commit",
    "GetControllerInfo": "controller_info",
    "InstallHost": "host_install",
    "InstallHostAsync": "host_install_async",
}
#: The agents' own protocol, not client calls: the stream and the enrolment exchange (sw-patch-agent --enroll-token-file).
AGENT_ONLY = {"Connect", "Enroll", "InstallReceiptSubmit"}


def snake(name):
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


class CoverageTest(unittest.TestCase):
    def test_every_rpc_of_every_service_has_a_method_with_a_timeout_keyword(self):
        import inspect

        from swpatch_client.gen.swpatch.v1 import admin_service_pb2, agent_service_pb2, host_service_pb2

        missing = []
        count = 0
        for module in (patches_pb, host_service_pb2, orch_pb, admin_service_pb2, agent_service_pb2):
            for service in module.DESCRIPTOR.services_by_name.values():
                for rpc in service.methods_by_name:
                    if rpc in AGENT_ONLY:
                        continue
                    count += 1
                    fn = getattr(SwPatchClient, ALIASES.get(rpc, snake(rpc)), None)
                    if fn is None:
                        missing.append(f"{service.name}.{rpc}")
                        continue
                    param = inspect.signature(fn).parameters.get("timeout")
                    if param is None or param.kind is not inspect.Parameter.KEYWORD_ONLY:
                        missing.append(f"{service.name}.{rpc}: no keyword-only timeout")
        self.assertEqual(missing, [])
        self.assertEqual(count, 59)


class ExportsTest(unittest.TestCase):
    def test_the_watch_errors_are_importable_from_the_package_root(self):
        import swpatch_client

        for name in ("ResourceExhaustedError", "WatchStreamLimitError", "WatchFellBehindError", "OutOfRangeError", "EventsPrunedError"):
            self.assertIn(name, swpatch_client.__all__)
            self.assertTrue(issubclass(getattr(swpatch_client, name), swpatch_client.SwPatchError), name)
        self.assertTrue(issubclass(swpatch_client.EventsPrunedError, swpatch_client.OutOfRangeError))


class TransportTest(unittest.TestCase):
    """https:// endpoints, SWPATCH_TLS_* and the refusal of plaintext to a non-loopback host."""

    def setUp(self):
        self.saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SWPATCH_TLS_")}

    def tearDown(self):
        for k in [k for k in os.environ if k.startswith("SWPATCH_TLS_")]:
            del os.environ[k]
        os.environ.update(self.saved)

    def test_loopback_hosts(self):
        for h in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"):
            self.assertTrue(is_loopback_host(h), h)
        for h in ("10.0.0.1", "0.0.0.0", "example.com", "128.0.0.1", "::"):
            self.assertFalse(is_loopback_host(h), h)

    def test_plaintext_to_a_non_loopback_host_is_refused_unless_allowed(self):
        with self.assertRaisesRegex(InsecureTransportError, r"10\.255\.255\.1:5490 in plaintext"):
            SwPatchClient("10.255.255.1:5490", token="t")
        for ok in (dict(endpoint="10.255.255.1:5490", allow_insecure=True), dict(endpoint="https://10.255.255.1:5490"), dict(endpoint="[::1]:1")):
            SwPatchClient(**ok).close()

    def test_tls_from_the_environment(self):
        os.environ["SWPATCH_TLS_CERT"] = "/nonexistent/cert.pem"
        with self.assertRaisesRegex(ValueError, "SWPATCH_TLS_CERT and SWPATCH_TLS_KEY go together"):
            SwPatchClient("10.255.255.1:5490")
        del os.environ["SWPATCH_TLS_CERT"]
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
            ca.write("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
            ca.flush()
            os.environ["SWPATCH_TLS_CA"] = ca.name
            SwPatchClient("10.255.255.1:5490").close()  # TLS: no refusal


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.patches = FakePatches()
        patches_grpc.add_PatchServiceServicer_to_server(self.patches, self.server)
        orch_grpc.add_OrchestrationServiceServicer_to_server(FakeOrchestration(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.client = SwPatchClient(f"127.0.0.1:{self.port}", token="t0k3n")

    def tearDown(self):
        self.client.close()
        self.server.stop(None)

    def test_watch_events_resumes_after_unavailable_without_loss_or_repeat(self):
        self.patches.watch_scripts = [
            {"events": [1, 2], "abort": (grpc.StatusCode.UNAVAILABLE, "going away")},
            {"events": [2, 3], "block": True},
        ]
        reconnects = []
        seen = []
        for ev in self.client.watch_events(initial_backoff=0.01, on_reconnect=lambda *a: reconnects.append(a)):
            seen.append(ev.sequence)
            if ev.sequence == 3:
                break
        self.assertEqual(seen, [1, 2, 3])
        self.assertEqual(self.patches.watch_requests, [0, 2])
        self.assertEqual([(a[0], a[2], type(a[3]).__name__) for a in reconnects], [(1, 2, "UnavailableError")])

    def test_watch_events_resumes_when_the_server_is_stopped_and_started_again(self):
        # First server: events 1..2 then it goes away (stop cancels the stream, closes the port).
        self.patches.watch_scripts = [{"events": [1, 2], "block": True}]
        fresh = FakePatches()
        fresh.watch_scripts = [{"events": [3], "block": True}]
        seen = []
        reconnects = []

        def on_reconnect(attempt, delay, after, error):
            reconnects.append((after, type(error).__name__))
            if attempt == 1:  # the first server is gone: bring up a new one on the same port
                self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
                patches_grpc.add_PatchServiceServicer_to_server(fresh, self.server)
                self.server.add_insecure_port(f"127.0.0.1:{self.port}")
                self.server.start()

        for ev in self.client.watch_events(initial_backoff=0.05, max_backoff=0.5, on_reconnect=on_reconnect):
            seen.append(ev.sequence)
            if ev.sequence == 2:
                self.server.stop(None)
            if ev.sequence == 3:
                break
        self.assertEqual(seen, [1, 2, 3])
        self.assertEqual(fresh.watch_requests[-1], 2)
        self.assertEqual(reconnects[0], (2, "UnavailableError"))

    def test_watch_events_does_not_retry_other_errors(self):
        self.patches.watch_scripts = [{"events": [5], "abort": (grpc.StatusCode.PERMISSION_DENIED, "reader may not")}]
        seen = []
        with self.assertRaises(PermissionDeniedError):
            for ev in self.client.watch_events(after_sequence=4, initial_backoff=0.01):
                seen.append(ev.sequence)
        self.assertEqual(seen, [5])
        self.assertEqual(self.patches.watch_requests, [4])

    def test_watch_events_without_resume_raises_unavailable(self):
        self.patches.watch_scripts = [{"events": [], "abort": (grpc.StatusCode.UNAVAILABLE, "going away")}]
        with self.assertRaises(UnavailableError):
            list(self.client.watch_events(resume=False))

    def test_unary_calls_get_the_default_deadline_or_their_own(self):
        self.assertEqual([p.id for p in self.client.query()], ["001"])
        self.client.query(timeout=5)
        self.client.query(timeout=0)
        default, own, none = self.patches.remaining
        # The deadline the server sees (grpc rounds it up a little): 30 s by default, else the call's.
        self.assertTrue(6 < default <= 31, default)
        self.assertTrue(0 < own <= 6, own)
        self.assertTrue(none is None or none > 1e6, none)  # no deadline: grpc reports "infinite"
        self.assertEqual(self.patches.metadata[0].get("authorization"), "Bearer t0k3n")

    def test_upload_streams_the_file_in_chunks(self):
        data = os.urandom(10_000)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "001.patch")
            with open(path, "wb") as f:
                f.write(data)
            progress = []
            r = self.client.upload(path, chunk_size=4096, on_progress=lambda sent, total: progress.append((sent, total)))
        self.assertEqual(r.patch_id, "001")
        up = self.patches.upload
        self.assertEqual((up["header"].file_name, up["header"].size_bytes), ("001.patch", 10_000))
        self.assertEqual(up["kinds"], ["header", "chunk", "chunk", "chunk"])
        self.assertEqual([len(c) for c in up["chunks"]], [4096, 4096, 1808])
        self.assertEqual(b"".join(up["chunks"]), data)
        self.assertEqual(progress, [(4096, 10_000), (8192, 10_000), (10_000, 10_000)])

    def test_errors_are_typed_by_reason_then_status(self):
        with self.assertRaises(StrategyNotFoundError) as e:
            self.client.delete_strategy()
        self.assertEqual((e.exception.reason, e.exception.method, e.exception.details), ("STRATEGY_NOT_FOUND", "DeleteStrategy", "No strategy available"))
        with self.assertRaises(PatchNotFoundError) as e:  # PatchService NOT_FOUND without a reason
            self.client.show(["009"])
        self.assertIsNone(e.exception.reason)
        with self.assertRaises(InternalError) as e:
            self.client.apply(["001"])
        self.assertEqual(e.exception.code, grpc.StatusCode.INTERNAL)

    def test_watch_strategy_skips_empty_snapshots_and_close_ends_it(self):
        states = []
        done = threading.Event()
        got_two = threading.Event()

        def watch():
            for s in self.client.watch_strategy():
                states.append(s.state)
                if len(states) == 2:
                    got_two.set()
            done.set()

        t = threading.Thread(target=watch)
        t.start()
        self.assertTrue(got_two.wait(10))
        self.client.close()
        self.assertTrue(done.wait(10))
        t.join()
        self.assertEqual(states, ["building", "ready-to-apply"])


class StandbyPatches(patches_grpc.PatchServiceServicer):
    """A standby controller: refuses every call UNAVAILABLE naming the active one (as the gate does)."""

    def __init__(self):
        self.active = ""
        self.calls = 0

    def QueryPatches(self, request, context):
        self.calls += 1
        context.set_trailing_metadata((("swpatch-error-reason", "STANDBY"), ("swpatch-active", f"controller-0@{self.active}")))
        context.abort(grpc.StatusCode.UNAVAILABLE, f"standby: the active controller is controller-0 at {self.active}")


class PairTest(unittest.TestCase):
    """A client given two endpoints (a controller pair) follows the active one."""

    def setUp(self):
        self.servers = []
        self.active = FakePatches()
        self.standby = StandbyPatches()
        ports = []
        for servicer in (self.standby, self.active):
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
            patches_grpc.add_PatchServiceServicer_to_server(servicer, server)
            ports.append(server.add_insecure_port("127.0.0.1:0"))
            server.start()
            self.servers.append(server)
        self.standby.active = f"127.0.0.1:{ports[1]}"
        # A closed port first, then the standby, then the active one.
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
        probe.close()
        self.endpoints = [f"127.0.0.1:{closed}", f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"]

    def tearDown(self):
        for server in self.servers:
            server.stop(None)

    def test_a_call_refused_by_a_standby_or_a_closed_port_goes_to_the_active_controller(self):
        with SwPatchClient(",".join(self.endpoints[1:]), token="t") as client:
            self.assertEqual([p.id for p in client.query()], ["001"])
            self.assertEqual(client.endpoint, self.endpoints[2])
            self.assertEqual([p.id for p in client.query()], ["001"])
            self.assertEqual(self.standby.calls, 1)
        with SwPatchClient(",".join([self.endpoints[0], self.endpoints[2]]), token="t") as client:
            self.assertEqual([p.id for p in client.query()], ["001"])
            self.assertEqual(client.endpoint, self.endpoints[2])

    def test_a_single_endpoint_is_not_retried(self):
        with SwPatchClient(self.endpoints[1], token="t") as client:
            with self.assertRaises(UnavailableError):
                client.query()
            self.assertEqual(self.standby.calls, 1)


if __name__ == "__main__":
    unittest.main()
