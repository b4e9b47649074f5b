from django.urls import path

from . import views

urlpatterns = [
    path("api/suggest/", views.SuggestView.as_view(), name="writer-suggest"),
    path("api/generate/", views.GenerateView.as_view(), name="writer-generate"),
]
