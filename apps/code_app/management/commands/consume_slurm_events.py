import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.code_app.schedulers.base import get_backend
from apps.code_app.services.push import PushConsumer


class Command(BaseCommand):
    help = (
        "Apply the job events Slurm's hooks append to the Redis stream and push them to the pages. "
        "Idles unless SCHEDULER_BACKEND=slurm and SLURM_PUSH=true."
    )

    def handle(self, *args, **options):
        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        if settings.SCHEDULER_BACKEND != "slurm" or not settings.SLURM_PUSH:
            # The Procfile starts this process everywhere; with nothing to
            # consume it waits quietly so the other processes keep running.
            self.stdout.write("Slurm push is off (set SCHEDULER_BACKEND=slurm and SLURM_PUSH=true); idling.")
            while not stopping:
                time.sleep(1)
            return
        PushConsumer(get_backend()).run(stop=lambda: stopping)
