import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.code_app.schedulers.base import get_backend
from apps.core import fairness


def _percent(value):
    return f"{100 * value:.0f}%"


def _index(value):
    return "-" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = (
        "Print each user's CPU-hours, share against their fair-share target and fair-share factor, "
        "and Jain's fairness index, over the last 24 hours and 7 days."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--window", choices=[*fairness.WINDOWS, "all"], default="all",
            help="Window to report: 24h, 7d or all (default: all).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")

    def handle(self, *args, **options):
        report = fairness.build_report(backend=get_backend())
        windows = list(fairness.WINDOWS) if options["window"] == "all" else [options["window"]]
        usernames = dict(get_user_model().objects.filter(pk__in=report["users"]).values_list("pk", "username"))
        if options["json"]:
            self.stdout.write(json.dumps(self.as_json(report, windows, usernames), indent=2))
        else:
            self.write_tables(report, windows, usernames)

    def as_json(self, report, windows, usernames):
        users = []
        for user_id, entry in sorted(report["users"].items()):
            user = {"id": user_id, "username": usernames.get(user_id, ""), "fairshare": entry["fairshare"]}
            for window in windows:
                for figure in ("cpu_hours", "share", "target", "ratio"):
                    user[f"{figure}_{window}"] = entry[f"{figure}_{window}"]
            users.append(user)
        return {
            "generated_at": report["generated_at"].isoformat(),
            "fairshare_source": report["fairshare_source"],
            "windows": {window: report["windows"][window] for window in windows},
            "jain_per_day": [
                {"end": point["end"].isoformat(), "jain": point["jain"]} for point in report["trend"]
            ],
            "users": users,
        }

    def write_tables(self, report, windows, usernames):
        write = self.stdout.write
        write(
            f"Fairness report at {report['generated_at']:%Y-%m-%d %H:%M} UTC "
            f"(fair-share factors from the {report['fairshare_source']})"
        )
        write("")
        write(f"{'window':<8}{'users':>7}{'CPU-hours':>12}{'Jain index':>12}")
        for window in windows:
            figures = report["windows"][window]
            write(f"{window:<8}{figures['users']:>7}{figures['cpu_hours']:>12.2f}{_index(figures['jain']):>12}")
        write("")

        header = f"{'user':<20}"
        for window in windows:
            header += f"{'CPU-h ' + window:>12}{'share/target ' + window:>22}"
        write(header + f"{'fair-share':>12}")
        ordered = sorted(report["users"].items(), key=lambda item: -item[1][f"cpu_hours_{windows[-1]}"])
        for user_id, entry in ordered:
            line = f"{usernames.get(user_id, str(user_id)):<20}"
            for window in windows:
                share = f"{_percent(entry[f'share_{window}'])} / {_percent(entry[f'target_{window}'])}"
                line += f"{entry[f'cpu_hours_{window}']:>12.2f}{share:>22}"
            write(line + f"{_index(entry['fairshare']):>12}")
        if not report["users"]:
            write("(no user had jobs in the last 7 days)")
