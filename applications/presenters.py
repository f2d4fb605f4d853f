"""How a case's materials are shown, the same on the pages and in the API: one row per requirement."""

from rest_framework import serializers

from applications import selectors
from applications.models import Application


class MaterialFileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, material) -> str:
        return f"/api/v1/applications/{self.context['number']}/materials/{material.id}/"


def materials_view(case: Application) -> list[dict]:
    """Each requirement of the pinned version with its uploads, newest first; `satisfied` (免交) when a
    valid e-certificate the applicant holds stands in for it, shown to the clerk and the reviewer alike."""
    satisfied = selectors.satisfied_by_certificates(case)
    uploads: dict[int, list] = {}
    for material in case.materials.all():
        uploads.setdefault(material.requirement_id, []).append(material)
    rows = []
    requirements = selectors.case_requirements(case)
    committed = selectors.committed_requirement_ids(case, requirements=requirements)
    for requirement in requirements:
        files = uploads.get(requirement.pk, [])
        state = selectors.requirement_state(requirement, present=uploads, satisfied=satisfied, committed=committed)
        rows.append({
            "requirement": requirement.pk,
            "name": requirement.name,
            "form": requirement.form,
            "required": requirement.required,
            "deferrable": requirement.deferrable,
            "commitment_allowed": requirement.commitment_allowed,
            "satisfied_by": requirement.satisfied_by.code if requirement.satisfied_by_id else None,
            "status": state.value,
            "status_label": state.label,
            "certificate": satisfied.get(requirement.pk),
            "files": MaterialFileSerializer(files, many=True, context={"number": case.number}).data,
        })
    return rows
