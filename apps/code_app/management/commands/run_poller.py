import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.poller import run_forever


class Command(BaseCommand):
    help = "Poll the scheduler for every tracked job, store changes and push them to the pages."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between polls (default: POLLER_INTERVAL, 1.0).",
        )

    def handle(self, *args, **options):
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        interval = options["interval"] or settings.POLLER_INTERVAL
        run_forever(get_backend(), interval, stop=lambda: stopping)
