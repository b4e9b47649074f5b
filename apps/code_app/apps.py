from django.apps import AppConfig


class CodeAppConfig(AppConfig):
    name = "apps.code_app"
    label = "code_app"
    verbose_name = "Compute jobs"
