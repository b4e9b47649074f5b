from django.apps import AppConfig


class WriterAppConfig(AppConfig):
    name = "apps.writer_app"
    label = "writer_app"
    verbose_name = "Writer"
