"""Pushing the outbox to the hub: acknowledgement, batches, backoff, resends."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import timedelta

import httpx
import pytest

from node.sync.relay import send_relay
from node.sync.service import push
from sync.outbox import enqueue
from sync.tables import PeerState
from tests.node.factories import NOW
from tests.node.sync.conftest import NODE, OTHER

STREAM = f"{NODE}>hub"


def queue(session, node_key, n, recipient="hub"):
    for i in range(n):
        enqueue(
            session,
            kind="record.publish",
            sender=NODE,
            recipient=recipient,
            payload={"record_id": f"r{i}", "version_no": 1},
            key=node_key,
            now=NOW,
        )
    session.flush()


def peer(session, name="hub") -> PeerState:
    state = session.get(PeerState, name)
    session.refresh(state)
    return state


def run(factory, http, sync_settings, node_key, clock, **kw):
    return push(factory, http, sync_settings, node_key, clock, rng=random.Random(7), **kw)


def test_push_delivers_and_records_the_acknowledgement(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 3)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert (result.peer, result.sent, result.acked, result.error) == ("hub", 3, 3, None)
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 3]
    state = peer(session)
    assert (state.acked_seq, state.next_seq, state.failures) == (3, 4, 0)
    assert state.last_success_at == NOW
    # Every request was signed by the node (the fake hub refuses unsigned ones).
    assert all(r.headers["X-Minefed-Sender"] == NODE for r in hub.requests)
    assert all(r.headers.get("connection") != "close" for r in hub.requests)  # one at a time

    # Nothing due any more: no request at all.
    assert run(factory, http, sync_settings, node_key, clock) == []
    assert len(hub.requests) == 1


def test_a_backlog_goes_in_batches(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    settings = sync_settings.model_copy(update={"sync_batch_size": 2})
    queue(session, node_key, 5)
    (result,) = run(factory, http, settings, node_key, clock)
    assert (result.sent, result.acked) == (5, 5)
    assert len(hub.requests) == 3
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "failure",
    [503, 429, 401, httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow")],
    ids=["503", "429", "401", "connect-error", "timeout"],
)
def test_hub_down_backs_off_until_the_delay_has_passed(
    factory, session, federation, node_key, hub, http, sync_settings, clock, failure
):
    queue(session, node_key, 2)
    hub.failures.append(failure)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.backed_off and result.error
    state = peer(session)
    assert state.failures == 1 and state.acked_seq == 0
    # Full jitter within the first ceiling (base 10 s); the seeded rng gives a positive delay.
    assert NOW < state.backoff_until <= NOW + timedelta(seconds=10)
    assert state.last_error and state.last_attempt_at == NOW

    # Before backoff_until the destination is not due: no request at all.
    requests = len(hub.requests)
    clock.set(NOW + (state.backoff_until - NOW) / 2)
    assert run(factory, http, sync_settings, node_key, clock) == []
    assert len(hub.requests) == requests
    clock.set(state.backoff_until)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert (result.acked, result.error) == (2, None)
    state = peer(session)
    assert (state.failures, state.backoff_until, state.last_error) == (0, None, None)


def test_consecutive_failures_grow_the_delay_up_to_the_cap(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 1)
    for attempt in range(1, 8):
        hub.failures.append(503)
        run(factory, http, sync_settings, node_key, clock)
        state = peer(session)
        assert state.failures == attempt
        ceiling = min(60.0, 10.0 * 2 ** (attempt - 1))
        assert (state.backoff_until - clock.now()).total_seconds() <= ceiling
        clock.set(state.backoff_until)


def test_a_refusal_is_recorded_without_backing_off(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 1)
    hub.failures.append(400)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.error and not result.backed_off
    state = peer(session)
    assert (state.failures, state.backoff_until, state.acked_seq) == (0, None, 0)
    assert "HTTP 400" in state.last_error
    # Still due at once: the next push tries again (and now succeeds).
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.acked == 1


def test_a_lost_answer_is_resent_harmlessly(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 3)
    hub.lose_next_answer = httpx.ReadTimeout("answer lost")
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.backed_off
    assert len(hub.applied) == 3  # the hub applied them; we do not know it
    clock.set(peer(session).backoff_until)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.acked == 3
    assert hub.duplicates == 3 and len(hub.applied) == 3  # applied once, never twice


def test_after_a_hub_restore_the_node_resends_from_the_hubs_cursor(
    factory, session, federation, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 3)
    run(factory, http, sync_settings, node_key, clock)
    hub.cursors["node:150000>hub"] = 1  # the hub lost 2 and 3
    hub.applied = hub.applied[:1]
    queue(session, node_key, 1)
    (result,) = run(factory, http, sync_settings, node_key, clock)
    assert result.acked == 4
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 3, 4]


def test_two_requests_in_flight_deliver_a_backlog_in_order(
    factory, session, federation, node_key, hub, sync_settings, clock
):
    settings = sync_settings.model_copy(update={"sync_batch_size": 2})
    queue(session, node_key, 5)
    with httpx.Client(transport=Overtaking(hub, overtake=False)) as http:
        (result,) = run(factory, http, settings, node_key, clock, in_flight=2)
    assert (result.sent, result.acked, result.error) == (5, 5, None)
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 3, 4, 5]
    assert peer(session).acked_seq == 5
    # A connection each, so the hub's processes share the requests out.
    assert [r.headers.get("connection") for r in hub.requests] == ["close"] * 3


class Overtaking(httpx.BaseTransport):
    """Requests in flight reach the hub in the order of their messages, as on a quiet
    network, except (``overtake``) the first, which waits for the second to be answered.

    Each request runs in a thread of its own, so without this the order they reach
    the hub in would be the scheduler's: a request waits (up to a second) until the
    hub has every message before its first one.
    """

    def __init__(self, hub, *, overtake: bool = True) -> None:
        self.hub = hub
        self.overtake = overtake
        self.first_may_go = threading.Event()
        self.count = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.count += 1
            n = self.count
        if self.overtake and n == 1:
            assert self.first_may_go.wait(10)
        elif not (self.overtake and n == 2):
            first = json.loads(request.content)["messages"][0]["envelope"]["seq"]
            deadline = time.monotonic() + 1
            while self.hub.cursors.get(STREAM, 0) < first - 1 and time.monotonic() < deadline:
                time.sleep(0.005)
        try:
            return self.hub.handle(request)
        finally:
            if n == 2:
                self.first_may_go.set()


def test_an_answer_overtaken_by_another_is_not_a_restore(
    factory, session, federation, node_key, hub, sync_settings, clock, caplog
):
    settings = sync_settings.model_copy(update={"sync_batch_size": 2})
    queue(session, node_key, 5)
    with httpx.Client(transport=Overtaking(hub)) as http:
        (result,) = run(factory, http, settings, node_key, clock, in_flight=2)
    # 3-4 found a gap at the hub (1-2 not there yet), and so did 5 (sent before that
    # answer was read): both were sent again after 1-2.
    assert (result.acked, result.error) == (5, None)
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 3, 4, 5]
    assert len(hub.requests) == 5
    assert peer(session).acked_seq == 5
    assert "resending" not in caplog.text  # never taken for a hub restore


def test_relays_are_pushed_on_their_own_stream(
    factory, session, enrolled, other_node, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 1)
    message = send_relay(session, OTHER, "notice", {"text": "贵省承包单位在我省发生事故"}, NOW)
    assert (message.recipient, message.seq, message.kind) == (OTHER, 1, "relay.notice")
    results = {r.peer: r for r in run(factory, http, sync_settings, node_key, clock)}
    assert results["hub"].acked == 1 and results[OTHER].acked == 1
    assert hub.cursors == {f"{NODE}>hub": 1, f"{NODE}>{OTHER}": 1}


def test_nothing_is_pushed_before_enrollment(
    factory, session, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 1)
    assert run(factory, http, sync_settings, node_key, clock) == []
    assert hub.requests == []
