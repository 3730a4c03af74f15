#!/usr/bin/env python3
"""make test-crash: SIGKILL in the middle of a burst, then restart.

On each database: a server takes a burst of channel pushes (JSON, 8
threads), point redemptions (with Idempotency-Key, 4 threads) and front
desk bookings (with Idempotency-Key, 2 threads; each queues an e-mail
confirmation in the guest-message outbox, delivered to an HTTP gateway)
with a webhook subscribed to new reservations; when about a third of the
pushes have been acknowledged the server is killed with SIGKILL. Then:

1. The database as the server left it: every acknowledged push is a
   reservation exactly once, every acknowledged redemption an entry
   exactly once; nothing is half-written (a reservation without its room,
   a channel message without its reservation, a counter of rooms sold that
   disagrees with the rooms, a points balance that disagrees with its
   ledger, a booking without its confirmation message).
2. A restarted server, and every client retrying what it was not told
   about (the same message, the same Idempotency-Key): afterwards each
   booking exists once and each redemption is applied once.
3. The outboxes resume: the webhook receiver gets an event for every
   reservation, and the message gateway every booking's confirmation,
   those queued before the kill included.

usage: check.py [sqlite|postgresql ...]   (default: both)
"""
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BIN = os.environ.get("BIN", "target/debug/hotel-crm")
PORT = int(os.environ.get("CRASH_PORT", "18391"))
HOOK_PORT = PORT + 1
PG_ADMIN = os.environ.get("CRASH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BASE = f"http://127.0.0.1:{PORT}/api/v1"
PUSHES = 600
REDEMPTIONS = 300
BOOKINGS = 150
ADMIN = ("crash@localhost", "crash-password-123")


def env(database_url):
    e = dict(os.environ)
    e.update(
        DATABASE_URL=database_url,
        HOTEL_CRM_JWT_SECRET="crash-check-jwt-secret-0123456789abcdef",
        HOTEL_CRM_DATA_KEY="%064d" % 5,
        HOTEL_CRM_BOOTSTRAP_ADMIN_EMAIL=ADMIN[0],
        HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD=ADMIN[1],
        HOTEL_CRM_BIND=f"127.0.0.1:{PORT}",
        HOTEL_CRM_JOBS_INTERVAL_SECS="0",
        HOTEL_CRM_WEBHOOK_POLL_MS="100",
        HOTEL_CRM_WEBHOOK_RETRY_BASE_MS="200",
        HOTEL_CRM_MESSAGE_HTTP_URL=f"http://127.0.0.1:{HOOK_PORT}/messages",
        # A claim the killed node held may be taken over after this; so
        # may the webhooks and messages it was delivering.
        HOTEL_CRM_IDEMPOTENCY_LEASE_SECS="2",
        HOTEL_CRM_DELIVERY_LEASE_SECS="3",
        RUST_LOG="warn",
    )
    return e


def request(method, path, token=None, body=None, headers=None, timeout=30):
    data = None
    h = {"accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        h["content-type"] = "application/json"
    if token:
        h["authorization"] = f"Bearer {token}"
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start(database_url, log):
    p = subprocess.Popen([BIN, "serve"], env=env(database_url), stdout=log, stderr=log)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/ready", timeout=1)
            return p
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def token(body):
    status, r = request("POST", "/auth/token", body=body)
    assert status == 200, r
    return r["access_token"]


def admin_token():
    return token({"grant_type": "password", "email": ADMIN[0], "password": ADMIN[1]})


class Hooks(http.server.BaseHTTPRequestHandler):
    """The webhook receiver, and the message gateway at /messages."""
    events = {}
    messages = {}
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with Hooks.lock:
            if self.path == "/messages":
                assert self.headers["idempotency-key"] == body["id"], body
                Hooks.messages[body["id"]] = Hooks.messages.get(body["id"], 0) + 1
            else:
                Hooks.events.setdefault(body["data"]["id"], set()).add(body["id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def setup():
    t = admin_token()
    props = request("GET", "/properties", t)[1]["data"]
    prop = next(p["id"] for p in props if p["code"] == "MAIN")
    s, r = request("POST", f"/properties/{prop}/room-types", t,
                   {"code": "DLK", "name": "Deluxe King", "room_count": 5000, "max_occupancy": 3})
    assert s == 201, r
    s, r = request("POST", f"/properties/{prop}/rate-plans", t,
                   {"code": "BAR", "name": "Flexible", "meal_plan": "breakfast",
                    "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48,
                                            "fee": {"type": "first_night"}}})
    assert s == 201, r
    s, client = request("POST", "/clients", t, {"name": "crash channel manager",
                                               "grants": {"channels": ["ctrip"]}})
    assert s == 201, client
    s, r = request("POST", "/webhooks", t, {"url": f"http://127.0.0.1:{HOOK_PORT}/hook",
                                             "event_types": ["reservation.created"]})
    assert s == 201, r
    for language in ("zh", "en"):
        s, r = request("POST", "/message-templates", t,
                       {"name": f"Confirmation {language}", "trigger": "booking_confirmation",
                        "channel": "email", "language": language,
                        "subject": "{{reservation.confirmation_number}}",
                        "body": "{{property.name}}: {{reservation.arrival}}"})
        assert s == 201, r
    s, r = request("PUT", "/loyalty/program", t, {"name": "Club", "currency": "CNY", "expiry_months": 12, "earn_rates": {"room": {"points": 1, "per_amount": 100}, "food_and_beverage": {"points": 1, "per_amount": 200}}})
    assert s == 200, r
    s, g = request("POST", "/guests", t, {"family_name_latin": "Crash", "given_name_latin": "Member"})
    assert s == 201, g
    s, r = request("POST", f"/guests/{g['id']}/membership", t, {"source": "front_desk"})
    assert s == 201, r
    s, r = request("POST", f"/guests/{g['id']}/points/adjustments", t,
                   {"points": 100000, "reason": "crash check opening balance"})
    assert s in (200, 201), r
    return client, g["id"], prop


def letters(i):
    """0 → "A", 27 → "BB": a Latin name for booking i."""
    out = ""
    while True:
        out = chr(ord("A") + i % 26) + out
        i //= 26
        if i == 0:
            return out.capitalize() if len(out) > 1 else out


def push_body(i):
    from datetime import date, timedelta
    a = date.today() + timedelta(days=30 + i % 200)
    return {
        "action": "create", "channel_reservation_id": f"C-{i}",
        "last_modified": "2026-11-01T10:00:00Z", "property_code": "MAIN",
        "guest": {"profile": {"family_name_latin": "Guest", "given_name_latin": f"Crash {letters(i)}"}},
        "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": a.isoformat(),
                   "departure": (a + timedelta(days=2)).isoformat(), "adults": 2, "amount": 91600}],
    }


def booking_body(i, prop):
    from datetime import date, timedelta
    a = date.today() + timedelta(days=20 + i % 100)
    return {
        "property_id": prop, "channel": "phone", "special_requests": f"crash booking {i}",
        "guest": {"profile": {"family_name_latin": "Desk", "given_name_latin": f"Crash {letters(i)}",
                              "emails": [{"address": f"desk-{i}@crash.test"}]}},
        "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": a.isoformat(),
                   "departure": (a + timedelta(days=1)).isoformat(), "adults": 1, "amount": 45800}],
    }


def keyed(path, token, body, key):
    """A POST with an Idempotency-Key, retried while the killed node's claim
    holds it; returns the last (status, body)."""
    for _ in range(50):
        s, r = request("POST", path, token, body, {"idempotency-key": key})
        if s == 409 and r["code"] == "idempotency_key_in_use":
            time.sleep(0.2)
            continue
        return s, r
    return s, r


def burst(client_token, admin, guest, prop, server):
    acked_pushes, acked_redemptions, acked_bookings = set(), set(), set()
    lock = threading.Lock()
    killed = threading.Event()

    def pushes(worker):
        for i in range(worker, PUSHES, 8):
            try:
                s, r = request("POST", "/channels/ctrip/reservations", client_token, push_body(i), timeout=10)
            except OSError:
                continue
            if s == 200 and r.get("reservation_id"):
                with lock:
                    acked_pushes.add(i)
                    if len(acked_pushes) >= PUSHES // 3 and not killed.is_set():
                        killed.set()
                        server.send_signal(signal.SIGKILL)

    def redemptions(worker):
        for i in range(worker, REDEMPTIONS, 4):
            try:
                s, r = request("POST", f"/guests/{guest}/points/redemptions", admin,
                               {"points": 10, "description": f"crash {i}"},
                               {"idempotency-key": f"crash-redemption-{i}"}, timeout=10)
            except OSError:
                continue
            if s in (200, 201):
                with lock:
                    acked_redemptions.add(i)

    def bookings(worker):
        for i in range(worker, BOOKINGS, 2):
            try:
                s, r = request("POST", "/reservations", admin, booking_body(i, prop),
                               {"idempotency-key": f"crash-booking-{i}"}, timeout=10)
            except OSError:
                continue
            if s == 201:
                with lock:
                    acked_bookings.add(i)

    threads = [threading.Thread(target=pushes, args=(w,)) for w in range(8)]
    threads += [threading.Thread(target=redemptions, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=bookings, args=(w,)) for w in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if not killed.is_set():
        server.send_signal(signal.SIGKILL)
    server.wait()
    return acked_pushes, acked_redemptions, acked_bookings


def undelivered(ids, received):
    """The ids that have not reached the receiver (Hooks.events or
    Hooks.messages) within a minute: the outbox resumes after a restart."""
    deadline = time.time() + 60
    while time.time() < deadline:
        with Hooks.lock:
            if ids <= set(received):
                return set()
        time.sleep(0.2)
    with Hooks.lock:
        return ids - set(received)


def query(backend, url, sql):
    if backend == "sqlite":
        with sqlite3.connect(url) as c:
            return c.execute(sql).fetchall()
    out = subprocess.run(["psql", "-qAt", "-F", "\t", url, "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def consistent(backend, url, what):
    """Nothing half-written, whatever the moment of the kill."""
    checks = {
        "reservations without their room":
            "SELECT count(*) FROM reservations r WHERE NOT EXISTS "
            "(SELECT 1 FROM reservation_rooms x WHERE x.reservation_id = r.id)",
        "channel messages pointing at no reservation":
            "SELECT count(*) FROM channel_messages m WHERE m.reservation_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM reservations r WHERE r.id = m.reservation_id)",
        "bookings counted more than once":
            "SELECT count(*) FROM (SELECT channel_reservation_id FROM reservations WHERE channel_code = 'ctrip' "
            "GROUP BY channel_reservation_id HAVING count(*) > 1) d",
        "redemptions applied twice":
            "SELECT count(*) FROM (SELECT description FROM points_redemptions WHERE description LIKE 'crash %' "
            "GROUP BY description HAVING count(*) > 1) d",
        "redemptions without their ledger entry":
            "SELECT count(*) FROM points_redemptions x WHERE NOT EXISTS "
            "(SELECT 1 FROM points_entries e WHERE e.id = x.entry_id AND e.points = -x.points)",
        "balances that disagree with the ledger":
            "SELECT count(*) FROM loyalty_members m WHERE m.points_balance <> "
            "(SELECT coalesce(sum(e.points), 0) FROM points_entries e WHERE e.member_id = m.id)",
        "desk bookings made twice":
            "SELECT count(*) FROM (SELECT special_requests FROM reservations WHERE channel = 'phone' "
            "GROUP BY special_requests HAVING count(*) > 1) d",
        "desk bookings without exactly one confirmation message":
            "SELECT count(*) FROM reservations r WHERE r.channel = 'phone' AND (SELECT count(*) "
            "FROM message_outbox m WHERE m.guest_id = r.guest_id AND m.trigger_kind = 'booking_confirmation') <> 1",
    }
    for name, sql in checks.items():
        n = int(query(backend, url, sql)[0][0])
        assert n == 0, f"{what}: {n} {name}"


def check(backend):
    work = tempfile.mkdtemp()
    if backend == "sqlite":
        url = os.path.join(work, "crash.sqlite3")
    else:
        name = "hotel_crm_crash"
        subprocess.run(["psql", "-qAt", PG_ADMIN, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                        "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    log = open(os.path.join(work, "server.log"), "ab")
    server = None
    Hooks.events = {}
    Hooks.messages = {}
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    try:
        server = start(url, log)
        client, guest, prop = setup()
        client_token = token({"grant_type": "client_credentials", "client_id": client["client_id"],
                              "client_secret": client["client_secret"]})
        admin = admin_token()
        acked, redeemed, booked = burst(client_token, admin, guest, prop, server)
        # 1. The database as the killed server left it.
        consistent(backend, url, "after SIGKILL")
        stored = {r[0] for r in query(backend, url,
                  "SELECT channel_reservation_id FROM reservations WHERE channel_code = 'ctrip'")}
        missing = [i for i in acked if f"C-{i}" not in stored]
        assert not missing, f"acknowledged pushes lost: {missing[:10]}"
        entries = {r[0] for r in query(backend, url,
                   "SELECT description FROM points_redemptions WHERE description LIKE 'crash %'")}
        lost = [i for i in redeemed if f"crash {i}" not in entries]
        assert not lost, f"acknowledged redemptions lost: {lost[:10]}"
        desk = {r[0] for r in query(backend, url,
                "SELECT special_requests FROM reservations WHERE channel = 'phone'")}
        lost = [i for i in booked if f"crash booking {i}" not in desk]
        assert not lost, f"acknowledged desk bookings lost: {lost[:10]}"
        unsent_at_kill = int(query(backend, url,
                             "SELECT count(*) FROM message_outbox WHERE trigger_kind = 'booking_confirmation' "
                             "AND status = 'queued'")[0][0])
        stored_before = len(stored)
        # 2. Restart; clients retry what they were not told about (and, to
        # be sure, everything else too).
        server = start(url, log)
        client_token = token({"grant_type": "client_credentials", "client_id": client["client_id"],
                              "client_secret": client["client_secret"]})
        admin = admin_token()
        for i in range(PUSHES):
            s, r = request("POST", "/channels/ctrip/reservations", client_token, push_body(i))
            assert s == 200, (i, r)
        outcome_unknown = 0
        for i in range(REDEMPTIONS):
            # The killed node's claim: `keyed` waits out its lease.
            s, r = keyed(f"/guests/{guest}/points/redemptions", admin,
                         {"points": 10, "description": f"crash {i}"}, f"crash-redemption-{i}")
            if s == 409 and r["code"] == "idempotency_outcome_unknown":
                # Applied before the kill, its response lost: not run again.
                assert i not in redeemed, (i, r)
                outcome_unknown += 1
                continue
            assert s in (200, 201), (i, r)
        for i in range(BOOKINGS):
            s, r = keyed("/reservations", admin, booking_body(i, prop), f"crash-booking-{i}")
            if s == 409 and r["code"] == "idempotency_outcome_unknown":
                assert i not in booked, (i, r)
                outcome_unknown += 1
                continue
            assert s == 201, (i, r)
        consistent(backend, url, "after the retries")
        count = int(query(backend, url,
                    "SELECT count(*) FROM reservations WHERE channel_code = 'ctrip'")[0][0])
        assert count == PUSHES, f"{count} reservations for {PUSHES} bookings"
        applied = int(query(backend, url,
                      "SELECT count(*) FROM points_redemptions WHERE description LIKE 'crash %'")[0][0])
        assert applied == REDEMPTIONS, f"{applied} redemptions for {REDEMPTIONS}"
        s, points = request("GET", f"/guests/{guest}/points", admin)
        assert points["available"] == 100000 - 10 * REDEMPTIONS, points
        # 3. The webhook outbox resumed: every reservation announced.
        ids = {r[0] for r in query(backend, url,
               "SELECT id FROM reservations WHERE channel_code = 'ctrip'")}
        unannounced = undelivered(ids, Hooks.events)
        assert not unannounced, f"{len(unannounced)} reservations never announced"
        desk_count = int(query(backend, url,
                         "SELECT count(*) FROM reservations WHERE channel = 'phone'")[0][0])
        assert desk_count == BOOKINGS, f"{desk_count} desk bookings for {BOOKINGS}"
        # The message outbox resumed: every confirmation reached the
        # gateway (at least once; a repeat carries the same Idempotency-Key).
        confirmations = {r[0] for r in query(backend, url,
                         "SELECT id FROM message_outbox WHERE trigger_kind = 'booking_confirmation'")}
        assert len(confirmations) == BOOKINGS, f"{len(confirmations)} confirmations for {BOOKINGS} bookings"
        lost = undelivered(confirmations, Hooks.messages)
        assert not lost, f"{len(lost)} confirmations never delivered"
        # Those the killed node sent without recording it go again (same
        # key) once its lease lapses.
        for _ in range(150):
            unsent = int(query(backend, url,
                         "SELECT count(*) FROM message_outbox WHERE trigger_kind = 'booking_confirmation' "
                         "AND status <> 'sent'")[0][0])
            if unsent == 0:
                break
            time.sleep(0.2)
        assert unsent == 0, f"{unsent} confirmations delivered but not marked sent: " + str(query(
            backend, url, "SELECT status, attempts, last_error, next_attempt_at, sent_at FROM message_outbox "
            "WHERE trigger_kind = 'booking_confirmation' AND status <> 'sent'"))
        with Hooks.lock:
            repeated = sum(1 for m in confirmations if Hooks.messages.get(m, 0) > 1)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
        print(f"{backend}: killed after {len(acked)} acknowledged pushes ({stored_before} stored) and "
              f"{len(redeemed)} redemptions; nothing lost or half-written; after retries {count} bookings, "
              f"{applied} redemptions, each once ({outcome_unknown} applied whose answer was lost, "
              f"reported as such); {len(ids)} reservation.created events delivered; "
              f"{len(booked)} desk bookings acknowledged before the kill, {BOOKINGS} after retries, each "
              f"confirmed once: {unsent_at_kill} confirmations queued at the kill, all delivered after "
              f"the restart ({repeated} twice, by the same key)")
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        hooks.shutdown()
        hooks.server_close()
        log.close()
        if backend == "postgresql":
            subprocess.run(["psql", "-qAt", PG_ADMIN, "-c", "DROP DATABASE IF EXISTS hotel_crm_crash WITH (FORCE)"],
                           capture_output=True)


def main():
    for backend in sys.argv[1:] or ["sqlite", "postgresql"]:
        check(backend)


if __name__ == "__main__":
    main()
