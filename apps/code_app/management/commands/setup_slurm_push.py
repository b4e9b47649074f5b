import os
import pwd
import secrets
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from apps.code_app.services.push import stream_key
from apps.core.redis import get_redis


class Command(BaseCommand):
    help = (
        "Let Slurm's job event hook write to this platform's Redis stream: create a Redis user "
        "that may only append to the stream, and write the hook's settings and password. Run as root."
    )

    def add_arguments(self, parser):
        parser.add_argument("--conf-dir", default="/etc/slurm/push", help="Folder of the hook (default /etc/slurm/push).")
        parser.add_argument("--redis-user", default="slurmpush", help="Redis ACL user the hook logs in as.")
        parser.add_argument("--slurm-user", default="slurm", help="Unix user Slurm runs hooks as (SlurmUser).")
        parser.add_argument("--maxlen", type=int, default=100_000, help="Approximate cap of the stream, in events.")

    def handle(self, *args, **options):
        folder = Path(options["conf_dir"])
        user = options["redis_user"]
        try:
            slurm_user = pwd.getpwnam(options["slurm_user"])
        except KeyError:
            raise CommandError(f"Unix user {options['slurm_user']!r} does not exist; pass --slurm-user.") from None
        if not folder.is_dir():
            raise CommandError(f"{folder} does not exist; run deployment/slurm/cluster.sh up first.")

        password = secrets.token_urlsafe(32)
        stream = stream_key()
        try:
            # Only XADD, only on this stream: a leaked password can add events
            # but not read jobs, change keys or publish.
            get_redis().execute_command(
                "ACL", "SETUSER", user, "reset", "on", f">{password}", f"~{stream}", "resetchannels", "-@all", "+xadd"
            )
        except RedisError as exc:
            raise CommandError(f"Creating the Redis user {user} failed: {exc}") from None

        address = urlparse(settings.REDIS_URL)
        conf = (
            "# Written by manage.py setup_slurm_push; read (not sourced) by slurm-push-event.\n"
            f"REDIS_HOST={address.hostname or '127.0.0.1'}\n"
            f"REDIS_PORT={address.port or 6379}\n"
            f"REDIS_USER={user}\n"
            f"STREAM={stream}\n"
            f"MAXLEN={options['maxlen']}\n"
        )
        self._write(folder / "push.conf", conf, mode=0o644, uid=0, gid=0)
        self._write(folder / "redis.auth", password, mode=0o400, uid=slurm_user.pw_uid, gid=slurm_user.pw_gid)
        self.stdout.write(f"Slurm hooks now append to {stream} on {address.hostname}:{address.port or 6379} as {user}.")

    def _write(self, path, text, *, mode, uid, gid):
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
