from django.apps import AppConfig


class VisAppConfig(AppConfig):
    name = "apps.vis_app"
    label = "vis_app"
    verbose_name = "Figures"
