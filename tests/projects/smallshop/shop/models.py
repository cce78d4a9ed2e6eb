from django.db import models
from django_countries.fields import CountryField


class Store(models.Model):
    name = models.CharField(max_length=50)
    country = CountryField()
    opened = models.DateTimeField()
