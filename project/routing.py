from django.urls import path

from apps.dashboard.console import ConsoleConsumer
from apps.dashboard.consumers import DashboardConsumer
from apps.dashboard.notifications import NotificationConsumer

websocket_urlpatterns = [
    path("ws/dashboard/", DashboardConsumer.as_asgi()),
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
