import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from regions.models import Region


class RegionSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "level_display", "parent"]


class RegionFilter(django_filters.FilterSet):
    under = django_filters.CharFilter(method="filter_under", label="下属于（区划代码）")
    name = django_filters.CharFilter(lookup_expr="contains", label="名称包含")

    class Meta:
        model = Region
        fields = ["level", "parent"]

    def filter_under(self, queryset, name, value):
        region = Region.objects.filter(code=value).first()
        return queryset.under(region) if region else queryset.none()


@extend_schema_view(
    list=extend_schema(summary="区划列表（限本人管辖范围）"),
    retrieve=extend_schema(summary="区划详情"),
)
class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """The administrative tree, limited to the caller's region and what lies below it."""

    serializer_class = RegionSerializer
    filterset_class = RegionFilter
    lookup_value_regex = r"[0-9]{12}"

    def get_queryset(self):
        return Region.objects.visible_to(self.request.user).order_by("code")
