from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import SchedulerUnavailable
from apps.core.quotas import job_caps_for


class Command(BaseCommand):
    help = (
        "Create or update the Slurm account u_<id> of every active platform user, with MaxJobs and "
        "MaxSubmitJobs set to the user's running and submitted job caps (quota overrides included), "
        "through the same sacctmgr calls as a first submission. With SCHEDULER_BACKEND=local there is "
        "nothing to do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", action="append", default=[], help="Only this username (repeatable).")
        parser.add_argument("--dry-run", action="store_true", help="Print the accounts and caps without changing them.")

    def handle(self, *args, **options):
        if settings.SCHEDULER_BACKEND != "slurm":
            self.stdout.write(
                f"SCHEDULER_BACKEND is {settings.SCHEDULER_BACKEND}, which has no Slurm accounts; nothing to do."
            )
            return
        from apps.code_app.schedulers.base import get_backend
        from apps.code_app.schedulers.slurm import account_name
        from apps.code_app.schedulers.slurm_commands import SlurmCommandError

        users = get_user_model().objects.filter(is_active=True).order_by("pk")
        if options["user"]:
            users = users.filter(username__in=options["user"])
            missing = set(options["user"]) - set(users.values_list("username", flat=True))
            if missing:
                raise CommandError(f"No active user named {', '.join(sorted(missing))}.")

        backend = get_backend("slurm")
        failed = []
        for user in users:
            caps = job_caps_for(user.pk)
            summary = f"{account_name(user.pk)} MaxJobs={caps['max_running']} MaxSubmitJobs={caps['max_submitted']}"
            if options["dry_run"]:
                self.stdout.write(f"{user.username}: would ensure {summary}")
                continue
            try:
                backend.ensure_account(user.pk)
            except (SchedulerUnavailable, SlurmCommandError) as exc:
                self.stderr.write(f"{user.username}: {exc}")
                failed.append(user.username)
                continue
            self.stdout.write(f"{user.username}: {summary}")
        if failed:
            raise CommandError(f"Syncing the Slurm accounts of {len(failed)} user(s) failed: {', '.join(failed)}.")
