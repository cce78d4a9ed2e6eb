"""The storefront: models built on the third-party apps' fields and bases."""
import reversion
from django.conf import settings
from django.db import models
from django_countries.fields import CountryField
from djmoney.models.fields import MoneyField
from mptt.models import MPTTModel, TreeForeignKey
from polymorphic.models import PolymorphicModel
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager
from treebeard.mp_tree import MP_Node
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

User = settings.AUTH_USER_MODEL


@reversion.register()
class Category(MPTTModel):
    name = models.CharField(max_length=80)
    parent = TreeForeignKey("self", null=True, blank=True, on_delete=models.CASCADE,
                            related_name="children")


class Region(MP_Node):
    name = models.CharField(max_length=80)
    node_order_by = ["name"]


class Product(PolymorphicModel):
    sku = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    price = MoneyField(max_digits=12, decimal_places=2, default_currency="KRW")
    category = models.ForeignKey(Category, null=True, on_delete=models.SET_NULL)
    origin = CountryField(blank=True)
    tags = TaggableManager(blank=True)
    history = HistoricalRecords()


class Book(Product):
    isbn = models.CharField(max_length=17)
    pages = models.PositiveIntegerField()


class Gadget(Product):
    warranty_months = models.PositiveSmallIntegerField(default=12)
    specs = models.JSONField(default=dict)


class SupportTicketEscalationAuditTrailEntryForRegionalManager(models.Model):
    """A class name long enough that Django shortens its table name on PostgreSQL."""

    reporter = models.ForeignKey(User, on_delete=models.CASCADE)
    watchers = models.ManyToManyField(User, related_name="watched_escalations")
    note = models.TextField()
    opened_at = models.DateTimeField()


class ArticlePage(Page):
    intro = models.CharField(max_length=250, blank=True)
    body = RichTextField(blank=True)
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]
