#!/usr/bin/env python3
"""A client generated from openapi/openapi.json by openapi-python-client,
used as an integrator would: log in, set up a room type and rate plan,
create a guest, enrol them, push a channel reservation for them, read
their points. Every call goes through the generated functions and models
(no hand-written HTTP), so a spec the generator cannot use fails here.

usage: smoke.py BASE_URL EMAIL PASSWORD   (the generated package on PYTHONPATH)
"""
import datetime
import sys

from hotel_crm_client import AuthenticatedClient, Client
from hotel_crm_client.api.auth import create_token
from hotel_crm_client.api.channels import push_channel_reservation
from hotel_crm_client.api.guests import create_guest, get_guest
from hotel_crm_client.api.inventory import create_rate_plan, create_room_type
from hotel_crm_client.api.loyalty import enrol_member, get_points_balance, put_loyalty_program
from hotel_crm_client.api.properties import list_properties
from hotel_crm_client.api.reservations import get_reservation
from hotel_crm_client.models import (
    BalanceDto,
    ChannelPushResult,
    ChannelReservationPush,
    EnrolRequest,
    GuestCreated,
    GuestDraft,
    ProgramWrite,
    RatePlanWrite,
    RoomTypeWrite,
    TokenRequestType0,
    TokenResponse,
)
from hotel_crm_client.models.token_request_type_0_grant_type import TokenRequestType0GrantType


def ok(response, expected_type, what):
    parsed = response.parsed
    if response.status_code.value >= 300 or not isinstance(parsed, expected_type):
        raise SystemExit(f"{what}: HTTP {response.status_code.value}: {response.content[:500]!r}")
    return parsed


def main():
    base, email, password = sys.argv[1:4]
    tokens = ok(
        create_token.sync_detailed(
            client=Client(base_url=base),
            body=TokenRequestType0(
                email=email, password=password, grant_type=TokenRequestType0GrantType.PASSWORD
            ),
        ),
        TokenResponse,
        "log in",
    )
    api = AuthenticatedClient(base_url=base, token=tokens.access_token)

    props = ok(list_properties.sync_detailed(client=api), object, "list properties")
    prop = next(p for p in props.data if p.code == "MAIN")
    ok(create_room_type.sync_detailed(prop.id, client=api, body=RoomTypeWrite.from_dict(
        {"code": "DLK", "name": "Deluxe King", "room_count": 10, "max_occupancy": 2})), object, "room type")
    ok(create_rate_plan.sync_detailed(prop.id, client=api, body=RatePlanWrite.from_dict(
        {"code": "BAR", "name": "Flexible", "meal_plan": "breakfast",
         "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48,
                                 "fee": {"type": "first_night"}}})), object, "rate plan")
    ok(put_loyalty_program.sync_detailed(client=api, body=ProgramWrite.from_dict(
        {"name": "Club", "currency": "CNY", "expiry_months": 12,
         "earn_rates": {"room": {"points": 1, "per_amount": 100}}})), object, "loyalty programme")

    guest = ok(create_guest.sync_detailed(client=api, body=GuestDraft.from_dict(
        {"family_name": "李", "given_name": "娜", "phones": [{"number": "+86 139 0000 0001"}],
         "emails": [{"address": "client.smoke@example.cn"}]})), GuestCreated, "create guest")
    ok(enrol_member.sync_detailed(guest.id, client=api, body=EnrolRequest(source="app")), object, "enrol")

    arrival = datetime.date.today() + datetime.timedelta(days=20)
    pushed = ok(push_channel_reservation.sync_detailed("ctrip", client=api, body=ChannelReservationPush.from_dict({
        "action": "create", "channel_reservation_id": "SMOKE-1",
        "last_modified": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "property_code": "MAIN",
        "guest": {"id": guest.id},
        "rooms": [{"room_type": "DLK", "rate_plan": "BAR", "arrival": arrival.isoformat(),
                   "departure": (arrival + datetime.timedelta(days=2)).isoformat(),
                   "adults": 2, "amount": 91600}],
    })), ChannelPushResult, "push reservation")
    assert pushed.outcome == "created", pushed
    reservation = ok(get_reservation.sync_detailed(pushed.reservation_id, client=api), object, "read reservation")
    assert reservation.guest_id == guest.id, (reservation.guest_id, guest.id)

    points = ok(get_points_balance.sync_detailed(guest.id, client=api), BalanceDto, "read points")
    # Nothing earned before check-out; the open booking is pending.
    assert points.available == 0, points
    assert points.pending > 0, points
    ok(get_guest.sync_detailed(guest.id, client=api), object, "read guest")
    print(f"generated client: logged in, created guest {guest.id}, pushed reservation "
          f"{pushed.reservation_id} ({pushed.outcome}), points available {points.available}, "
          f"pending {points.pending}")


if __name__ == "__main__":
    main()
