from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from tests.oidc_provider.models import Person


class Command(BaseCommand):
    help = "A user of the provider with what it verified about them (name, ID number, phone)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--id-number", required=True)
        parser.add_argument("--phone", default="")

    def handle(self, *, username, password, name, id_number, phone, **options):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        Person.objects.update_or_create(user=user, defaults={"real_name": name, "id_number": id_number, "phone": phone})
        self.stdout.write(str(user.pk))
