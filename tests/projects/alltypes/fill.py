"""Fill the field zoo through the ORM with edge values of every field type (run with
`manage.py shell -c`, on SQLite). RUNBOOK_FILL_GAP=1 adds a naive time inside New York's
daylight-saving gap (USE_TZ = False only): a value PostgreSQL cannot keep as written."""
import datetime as dt
import os
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from fieldzoo.models import (
    Counter,
    Document,
    Everything,
    Member,
    Membership,
    Note,
    Page,
    Profile,
    Tag,
    Team,
)


def moment(*args):
    """A date-time as the project stores it: aware UTC (USE_TZ) or naive wall clock."""
    value = dt.datetime(*args)
    return value.replace(tzinfo=dt.UTC) if settings.USE_TZ else value


alice = Member.objects.create_user("alice", "alice@example.com", "pw", first_name="앨리스")
bob = Member.objects.create_user("bob", "bob@example.com", "pw", is_staff=True)
Profile.objects.create(member=alice, bio="엔지니어 😀\ttab\nnewline \\ backslash")
tags = [Tag.objects.create(name=n) for n in ("alpha", "beta", "gamma-ray")]
for label in ("one", "two", "three"):
    Counter.objects.create(label=label)

BIG = {"numbers": list(range(20000)), "text": "가나다" * 2000}
EDGES = [
    dict(integer=-2**31, big=-2**63, small=-2**15, positive=0, positive_big=0, positive_small=0,
         flag=False, maybe=None, char="", slug="min", email="a@b.co", url="http://a.b",
         price=Decimal("-99999999.9999"), huge=Decimal("12345678901234567890.1234567890"),
         ratio=-1e-300, day=dt.date(1, 1, 1), clock=dt.time(0, 0), moment=moment(1900, 1, 1),
         span=dt.timedelta(microseconds=-1), data=None, address="192.0.2.1",
         token=uuid.UUID(int=0), blob=b""),
    dict(integer=2**31 - 1, big=2**63 - 1, small=2**15 - 1, positive=2**31 - 1,
         positive_big=2**63 - 1, positive_small=2**15 - 1, flag=True, maybe=True,
         char="한국어 😀 'quote' \"dq\"", slug="max", email="x@y.org", url="https://ex.org/a?b=c",
         price=Decimal("99999999.9999"), huge=Decimal("0.0000000001"), ratio=0.1 + 0.2,
         day=dt.date(9999, 12, 31), clock=dt.time(23, 59, 59, 999999),
         moment=moment(2021, 3, 14, 7, 30), span=dt.timedelta(days=36525 * 1.2, microseconds=7),
         data={"nested": {"list": [1, 2.5, None, True, "ü"], "한": "글"}, "big": 2**70},
         address="2001:db8::1", token=uuid.UUID(int=2**128 - 1), blob=b"\x00\xff" * 500),
    dict(integer=0, big=0, small=0, positive=1, positive_big=1, positive_small=1, flag=False,
         maybe=False, char="tab\there\\n", slug="zero", email="z@z.io", url="ftp://z.io",
         price=Decimal("0"), huge=None, ratio=float("inf"), day=dt.date(2024, 2, 29),
         clock=dt.time(12, 0, 0, 1), moment=moment(2021, 11, 7, 5, 30), span=dt.timedelta(0),
         data=BIG, address="::ffff:192.0.2.1", token=uuid.uuid4(), blob=None),
    dict(integer=-1, big=273906000007, small=-1, positive=42, positive_big=2**53 + 1,
         positive_small=7, flag=True, maybe=None, char="x" * 40, slug="duration",
         email="d@d.kr", url="http://d.kr", price=Decimal("0.0001"),
         huge=Decimal("-9999999999.9999999999"), ratio=None, day=None, clock=None,
         moment=moment(2024, 12, 31, 23, 59, 59, 999999),
         span=dt.timedelta(microseconds=273906000007), data=[], address=None,
         token=uuid.uuid4(), blob=b"bytes"),
    dict(integer=7, big=7, small=7, positive=7, positive_big=7, positive_small=7, flag=False,
         maybe=True, char="fold", slug="fold", email="f@f.f", url="http://f.f",
         price=Decimal("12.5"), huge=Decimal("1"), ratio=-0.0, day=dt.date(2021, 11, 7),
         clock=dt.time(1, 30), moment=moment(2021, 11, 7, 1, 30),  # naive: ambiguous in NY
         span=-dt.timedelta(days=3, hours=4), data="just a string", address="10.0.0.255",
         token=uuid.uuid4(), blob=b"\x01"),
]
if os.environ.get("RUNBOOK_FILL_GAP") and not settings.USE_TZ:
    EDGES.append(dict(EDGES[4], slug="gap", moment=moment(2021, 3, 14, 2, 30)))  # no such time

rows = []
for i, values in enumerate(EDGES):
    row = Everything.objects.create(owner=alice if i % 2 else None, legacy=f"legacy-{i}",
                                    parent=rows[0] if rows else None, upload=f"files/{i}.txt",
                                    picture=f"images/{i}.png", path="/tmp/x",
                                    text="text " * i, **values)
    row.tags.set(tags[: i % 4])
    rows.append(row)

docs = [Document.objects.create(title=f"doc {i}", address=a)
        for i, a in enumerate(["192.0.2.7", "fe80::1", None])]
docs.append(Document.objects.create(id=uuid.UUID(int=1), title="zero-ish", address="::1"))
for d in docs:
    for n in range(1, 3):
        Page.objects.create(document=d, number=n)

team = Team.objects.create(name="core")
Membership.objects.create(team=team, member=alice, joined=dt.date(2020, 1, 1), role="lead")
Membership.objects.create(team=team, member=bob, joined=dt.date(2021, 6, 30), role="dev")
for target in (alice, rows[1], team):
    Note.objects.create(content_type=ContentType.objects.get_for_model(target),
                        object_id=target.pk, body=f"note on {target}")
print("filled", Everything.objects.count())
