"""Fill the corpus through the apps' own APIs with realistic rows (`manage.py shell -c`)."""
import datetime as dt
import random
from decimal import Decimal

import reversion
from allauth.account.models import EmailAddress
from constance import config
from customer_accounts.models import User
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from djmoney.money import Money
from guardian.shortcuts import assign_perm
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from rest_framework.authtoken.models import Token
from storefront.models import (
    ArticlePage,
    Book,
    Category,
    Gadget,
    Product,
    Region,
)
from storefront.models import (
    SupportTicketEscalationAuditTrailEntryForRegionalManager as Escalation,
)
from waffle.models import Flag, Sample, Switch
from wagtail.contrib.redirects.models import Redirect
from wagtail.models import Page

rnd = random.Random(14)
now = timezone.now().replace(microsecond=123456)
countries = ["KR", "JP", "US", "DE", "BR", "NG", "IN", ""]

users = [User.objects.create_superuser("admin", "admin@example.com", "pw", country="KR")]
for i in range(30):
    users.append(User.objects.create_user(
        f"user{i:02d}", f"user{i:02d}@example.com", "pw", first_name=f"이름{i}",
        last_name=["Kim", "Müller", "O'Brien", "José"][i % 4], country=countries[i % 8],
        is_staff=i % 7 == 0))
editors = Group.objects.create(name="editors")
editors.permissions.set(Permission.objects.filter(codename__startswith="change_")[:20])
for u in users[1:10]:
    u.groups.add(editors)

with reversion.create_revision():
    roots = [Category.objects.create(name=n) for n in ("Books", "Gadgets", "가전")]
    leaves = [Category.objects.create(name=f"{r.name} / {j}", parent=r)
              for r in roots for j in range(3)]
korea = Region.add_root(name="Korea")
for city in ("Seoul", "Busan", "Daejeon"):
    korea.add_child(name=city)
Region.add_root(name="Japan").add_child(name="Tokyo")

products = []
for i in range(24):
    common = dict(sku=f"SKU-{i:04d}", category=leaves[i % len(leaves)],
                  origin=countries[i % 8], price=Money(Decimal(rnd.randint(100, 99999)) / 100,
                                                       ["KRW", "USD", "EUR", "JPY"][i % 4]))
    if i % 2:
        p = Book.objects.create(title=f"책 {i}", isbn=f"978-0-{i:06d}", pages=100 + i, **common)
    else:
        p = Gadget.objects.create(title=f"Gadget {i}", warranty_months=12 + i % 24,
                                  specs={"weight_g": rnd.random() * 1000, "ports": ["usb-c"] * i,
                                         "name": f"모델-{i}"}, **common)
    p.tags.add(*rnd.sample(["sale", "new", "한정판", "eco", "gift"], k=2))
    p.title += " (v2)"
    p.save()  # a second historical record (simple_history)
    products.append(p)
    assign_perm(f"storefront.change_{p._meta.model_name}", users[1 + i % 10], p)
assign_perm(f"storefront.view_{products[0]._meta.model_name}", editors, products[0])
for i in range(4):  # plain products: django-simple-history records each save
    plain = Product.objects.create(sku=f"PLAIN-{i}", title=f"gift card {i}",
                                   price=Money(Decimal("10000") * (i + 1), "KRW"))
    plain.title += " (renamed)"
    plain.save()

for i in range(12):
    e = Escalation.objects.create(reporter=users[i + 1], note=f"ticket {i}\nsecond line",
                                  opened_at=now - dt.timedelta(days=i, seconds=i))
    e.watchers.set(users[i + 2:i + 5])

root = Page.objects.get(depth=1)
home = root.add_child(instance=ArticlePage(title="Home", intro="환영합니다", body="<p>hi</p>"))
for i in range(8):
    page = home.add_child(instance=ArticlePage(title=f"Article {i}", slug=f"article-{i}",
                                               intro=f"intro {i}", body=f"<p>body {i} 본문</p>"))
    page.save_revision(user=users[1]).publish()
for i in range(5):
    Redirect.objects.create(old_path=f"/old-{i}", redirect_link=f"https://example.com/{i}")

every_hour = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
nightly = CrontabSchedule.objects.create(minute="30", hour="2", timezone="Asia/Seoul")
clocked = ClockedSchedule.objects.create(clocked_time=now + dt.timedelta(days=1))
solar = SolarSchedule.objects.create(event="sunrise", latitude=Decimal("37.5665"),
                                     longitude=Decimal("126.9780"))
PeriodicTask.objects.create(name="cleanup", task="shop.cleanup", interval=every_hour,
                            kwargs='{"days": 30}')
PeriodicTask.objects.create(name="report", task="shop.report", crontab=nightly, args="[1, 2]")
PeriodicTask.objects.create(name="launch", task="shop.launch", clocked=clocked, one_off=True)
PeriodicTask.objects.create(name="sunrise", task="shop.lights", solar=solar)

for u in users[1:8]:
    TOTPDevice.objects.create(user=u, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=u, name="backup")
    for _ in range(3):
        StaticToken.objects.create(device=static, token=StaticToken.random_token())

app = Application.objects.create(name="mobile", user=users[0], redirect_uris="https://ex.org/cb",
                                 client_type=Application.CLIENT_CONFIDENTIAL,
                                 authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE)
for i, u in enumerate(users[1:11]):
    access = AccessToken.objects.create(user=u, application=app, token=f"access-{i}-{rnd.random()}",
                                        expires=now + dt.timedelta(hours=1), scope="read write")
    RefreshToken.objects.create(user=u, application=app, token=f"refresh-{i}", access_token=access)
    Grant.objects.create(user=u, application=app, code=f"code-{i}", redirect_uri="https://ex.org/cb",
                         expires=now + dt.timedelta(minutes=10), scope="read")

flag = Flag.objects.create(name="new_checkout", percent=Decimal("12.5"), note="rollout")
flag.users.set(users[1:4])
flag.groups.add(editors)
Switch.objects.create(name="maintenance", active=False)
Sample.objects.create(name="beta", percent=Decimal("33.3"))
config.SITE_BANNER = "봄 세일"
config.MAX_ITEMS = 25

for u in users[1:15]:
    Token.objects.create(user=u)
    EmailAddress.objects.create(user=u, email=u.email, verified=u.pk % 2 == 0, primary=True)
for u in users[:5]:
    session = SessionStore()
    session["_auth_user_id"] = str(u.pk)
    session.create()
    LogEntry.objects.log_action(u.pk, ContentType.objects.get_for_model(User).pk, u.pk, str(u),
                                ADDITION, "created")
print("filled", User.objects.count(), "users")
