"""A custom user model in an app whose name is long enough that Django's generated names
for its tables pass PostgreSQL's 63 bytes (`customer_accounts_user_user_permissions_…`)."""
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_countries.fields import CountryField


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True)
    country = CountryField(blank=True)
