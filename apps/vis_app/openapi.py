"""Shapes of the vis API's requests and responses for the OpenAPI schema.

The views validate with apps.vis_app.services.submit and services.specs,
not with these serializers, which only describe the fields for
drf-spectacular. The limits come from the constants that the validation
reads.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from apps.core.openapi import COMMON_ERRORS, ErrorSerializer, error
from apps.scholar_app.openapi import TIER_CHOICES, TaskBatchSerializer
from apps.writer_app.openapi import INVALID_BODY, TASK_ERRORS

from .services.render import FORMATS
from .services.specs import KINDS, MAX_NAME_CHARS, MAX_POINTS, MAX_SERIES, MAX_TEXT_CHARS
from .services.submit import MAX_BATCH_IDS

# The format services.submit.clean_format uses when the request has none.
DEFAULT_FORMAT = "png"


def numbers_field(axis):
    return serializers.ListField(
        child=serializers.FloatField(),
        min_length=1,
        max_length=MAX_POINTS,
        help_text=f"Finite numbers on the {axis} axis. x and y have the same length.",
    )


def text_field(help_text, *, default=None):
    """Return a CharField of at most MAX_TEXT_CHARS characters. A default makes it optional, as in a request."""
    options = {"default": default} if default is not None else {}
    return serializers.CharField(max_length=MAX_TEXT_CHARS, allow_blank=True, help_text=help_text, **options)


class SeriesSerializer(serializers.Serializer):
    label = text_field("The series' name in the legend.")
    x = numbers_field("x")
    y = numbers_field("y")


class FigureSpecSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    title = text_field("The figure's title.")
    x_label = text_field("The x axis' label.")
    y_label = text_field("The y axis' label.")
    series = serializers.ListField(child=SeriesSerializer(), min_length=1, max_length=MAX_SERIES)


# The request forms of the spec: every text field may be left out and then
# is stored as "". Fields that are not listed here are dropped.
class NewSeriesSerializer(SeriesSerializer):
    label = text_field("The series' name in the legend.", default="")


class NewFigureSpecSerializer(FigureSpecSerializer):
    title = text_field("The figure's title.", default="")
    x_label = text_field("The x axis' label.", default="")
    y_label = text_field("The y axis' label.", default="")
    series = serializers.ListField(child=NewSeriesSerializer(), min_length=1, max_length=MAX_SERIES)


class NewFigureSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=MAX_NAME_CHARS, help_text="The figure's name, not blank. Spaces at either end are removed."
    )
    spec = NewFigureSpecSerializer()


class NewFigureFormSerializer(NewFigureSerializer):
    spec = serializers.CharField(help_text="The spec as JSON text, with the fields of NewFigureSpecRequest.")


class FigureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    spec = FigureSpecSerializer(help_text="The validated spec, which contains only the known fields and every text field.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FigureListSerializer(serializers.Serializer):
    figures = FigureSerializer(many=True, help_text="The user's 200 newest figures, newest first.")


class FigureExportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(FORMATS), default=DEFAULT_FORMAT)


class BatchExportSerializer(serializers.Serializer):
    figure_ids = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=MAX_BATCH_IDS,
        help_text="Ids of your figures. Repeated ids are exported once, and an id of no figure of yours is invalid.",
    )
    format = serializers.ChoiceField(choices=list(FORMATS), default=DEFAULT_FORMAT)


class FigureBatchJobSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=TIER_CHOICES, help_text="Always compute: the figures became one compute job.")
    job_id = serializers.IntegerField(help_text="The compute job, whose state is at /code/api/jobs/{job_id}/status/.")
    figures = serializers.IntegerField(help_text="The number of figures in the job.")
    output_dir = serializers.CharField(help_text="Where the job writes the files, relative to your workspace.")
    detail = serializers.CharField()


BATCH_EXPORT_ACCEPTED = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="FigureBatchExport",
        serializers=[TaskBatchSerializer, FigureBatchJobSerializer],
        resource_type_field_name=None,
    ),
    description=(
        f"Accepted. Fewer than {settings.COMPUTE_BATCH_THRESHOLD} figures return one task each, "
        f"and {settings.COMPUTE_BATCH_THRESHOLD} or more return the compute job they became."
    ),
)

FIGURE_NOT_FOUND = error(ErrorSerializer, "No figure of this user has this id (error not_found).")
FIGURE_EXPORT_ERRORS = {**TASK_ERRORS, 404: FIGURE_NOT_FOUND}
FIGURE_SAVE_ERRORS = {400: INVALID_BODY, **COMMON_ERRORS}

EXPORT_FILE_RESPONSES = {
    **{
        (200, media_type): OpenApiResponse(
            OpenApiTypes.BINARY, description="The exported file, in the media type of the export's format."
        )
        for media_type in FORMATS.values()
    },
    404: error(
        ErrorSerializer,
        "No successful export of this user has this id, or its file is no longer in the workspace "
        "(error not_found).",
    ),
    **COMMON_ERRORS,
}
EXPORT_CSP_HEADER = OpenApiParameter(
    "Content-Security-Policy",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    required=True,
    description="Blocks scripts in an exported SVG that is opened directly.",
)
