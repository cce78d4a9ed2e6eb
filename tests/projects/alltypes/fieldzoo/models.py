"""One model per kind of key and relation, and one holding every Django field type."""
import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVectorField
from django.db import models

LONG_COLUMN = "a_legacy_column_name_deliberately_longer_than_postgresql_sixty_three_bytes"


class Member(AbstractUser):
    """The custom AUTH_USER_MODEL: Django's generated names for its M2M tables pass 63 bytes."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True)


class Tag(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.SlugField(unique=True)


class Everything(models.Model):
    integer = models.IntegerField()
    big = models.BigIntegerField()
    small = models.SmallIntegerField()
    positive = models.PositiveIntegerField()
    positive_big = models.PositiveBigIntegerField()
    positive_small = models.PositiveSmallIntegerField()
    flag = models.BooleanField(default=False)
    maybe = models.BooleanField(null=True)
    char = models.CharField(max_length=40, blank=True)
    slug = models.SlugField(max_length=60)
    email = models.EmailField()
    url = models.URLField()
    path = models.FilePathField(path="/tmp", blank=True)
    upload = models.FileField(upload_to="files/", blank=True)
    picture = models.ImageField(upload_to="images/", blank=True)
    text = models.TextField(blank=True)
    blob = models.BinaryField(null=True)
    price = models.DecimalField(max_digits=12, decimal_places=4)
    huge = models.DecimalField(max_digits=30, decimal_places=10, null=True)
    ratio = models.FloatField(null=True)
    day = models.DateField(null=True)
    clock = models.TimeField(null=True)
    moment = models.DateTimeField(null=True)
    span = models.DurationField(null=True)
    token = models.UUIDField(default=uuid.uuid4)
    data = models.JSONField(null=True)
    address = models.GenericIPAddressField(null=True)
    legacy = models.CharField(max_length=20, db_column=LONG_COLUMN, default="")
    owner = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="kids")
    tags = models.ManyToManyField(Tag, blank=True)


class Profile(models.Model):
    """OneToOne; a BigAutoField key (DEFAULT_AUTO_FIELD)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE)
    bio = models.TextField()


class Counter(models.Model):
    id = models.SmallAutoField(primary_key=True)
    label = models.CharField(max_length=10)


class Document(models.Model):
    """A UUID primary key, referenced by a foreign key; a search vector (derived data: a
    `tsvector` PostgreSQL computes, a column of declared type tsvector on SQLite)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    title = models.CharField(max_length=100)
    address = models.GenericIPAddressField(null=True)
    search = SearchVectorField(null=True)


class Page(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE)
    number = models.PositiveIntegerField()


class Team(models.Model):
    name = models.CharField(max_length=50)
    members = models.ManyToManyField(Member, through="Membership")


class Membership(models.Model):
    """An M2M with `through`."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    member = models.ForeignKey(Member, on_delete=models.CASCADE)
    joined = models.DateField()
    role = models.CharField(max_length=20)


class Note(models.Model):
    """A GenericForeignKey."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    body = models.TextField()
