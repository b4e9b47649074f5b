import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.core.quotas import job_caps_for


def account_name(user_id):
    """Return the Slurm account of a platform user, as deployment/slurm/account.sh names it."""
    return f"u_{user_id}"


class Command(BaseCommand):
    help = (
        "Create or update the Slurm account u_<id> of every active platform user, with MaxJobs and "
        "MaxSubmitJobs set to the user's running and submitted job caps (quota overrides included). "
        "Runs deployment/slurm/account.sh, which calls sacctmgr; with SCHEDULER_BACKEND=local there "
        "is nothing to do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], help="Only this username (repeatable).")
        parser.add_argument(
            "--script", default=str(settings.BASE_DIR / "deployment" / "slurm" / "account.sh"),
            help="The account script to run (default: deployment/slurm/account.sh).",
        )
        parser.add_argument(
            "--timeout", type=float, default=60.0,
            help="Seconds allowed to each account change before it counts as failed (default: 60).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the commands without running them.")

    def handle(self, *args, **options):
        if settings.SCHEDULER_BACKEND != "slurm":
            self.stdout.write(
                f"SCHEDULER_BACKEND is {settings.SCHEDULER_BACKEND}, which has no Slurm accounts; nothing to do."
            )
            return
        script = Path(options["script"])
        if not script.is_file():
            raise CommandError(f"The account script {script} does not exist; pass --script with its path.")

        users = get_user_model().objects.filter(is_active=True).order_by("pk")
        if options["user"]:
            users = users.filter(username__in=options["user"])
            missing = set(options["user"]) - set(users.values_list("username", flat=True))
            if missing:
                raise CommandError(f"No active user named {', '.join(sorted(missing))}.")

        failed = [user.username for user in users if not self.sync(user, script, options)]
        if failed:
            raise CommandError(f"Syncing the Slurm accounts of {len(failed)} user(s) failed: {', '.join(failed)}.")

    def sync(self, user, script, options):
        """Run the account script for one user; return True when it succeeded."""
        caps = job_caps_for(user.pk)
        command = ["bash", str(script), "ensure", account_name(user.pk), str(caps["max_running"]), str(caps["max_submitted"])]
        if options["dry_run"]:
            self.stdout.write(f"{user.username}: would run {' '.join(command)}")
            return True
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=options["timeout"], stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            self.stderr.write(f"{user.username}: {script.name} timed out after {options['timeout']:g} s")
            return False
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            self.stderr.write(f"{user.username}: {script.name} failed: {reason}")
            return False
        self.stdout.write(f"{user.username}: {result.stdout.strip()}")
        return True
