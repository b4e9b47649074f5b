import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Create the demo user 'demo' and the staff user 'admin' if missing. Passwords come from "
        "DEMO_PASSWORD and ADMIN_PASSWORD, or are generated and printed."
    )

    def handle(self, *args, **options):
        self.ensure_user("demo", "DEMO_PASSWORD", staff=False)
        self.ensure_user("admin", "ADMIN_PASSWORD", staff=True)

    def ensure_user(self, username, variable, *, staff):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        password = os.environ.get(variable)
        if created or password:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_staff = staff
            user.is_superuser = staff
            user.save()
            shown = password if not os.environ.get(variable) else f"from {variable}"
            self.stdout.write(f"{'staff' if staff else 'demo'} user: {username} / password: {shown}")
        else:
            self.stdout.write(
                f"{'staff' if staff else 'demo'} user: {username} (exists; set {variable} to reset its password)"
            )
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"  API token for {username}: {token.key}")
