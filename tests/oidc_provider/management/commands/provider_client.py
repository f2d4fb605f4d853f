from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey


class Command(BaseCommand):
    help = "Register the relying party (a confidential client, code flow, RS256) and make the signing key."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", required=True)

    def handle(self, *, client_id, client_secret, redirect_uri, **options):
        if not RSAKey.objects.exists():
            call_command("creatersakey")
        client, _ = Client.objects.update_or_create(
            client_id=client_id,
            defaults={"name": "一网通办", "client_type": "confidential", "client_secret": client_secret,
                      "jwt_alg": "RS256", "require_consent": True, "reuse_consent": False},
        )
        client.redirect_uris = [redirect_uri]
        client.scope = ["openid", "profile", "phone", "id_card"]
        client.save()
        client.response_types.set([ResponseType.objects.get(value="code")])
