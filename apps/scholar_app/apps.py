from django.apps import AppConfig


class ScholarAppConfig(AppConfig):
    name = "apps.scholar_app"
    label = "scholar_app"
    verbose_name = "Scholar"
