"""Chinese names of the audited tables and their fields, from each model's own declarations."""

from crm.extensions import db


def _audited_models() -> list[type]:
    return [
        mapper.class_
        for mapper in db.Model.registry.mappers
        if getattr(mapper.class_, "__audited__", True) and hasattr(mapper.class_, "__tablename__")
    ]


def table_labels() -> dict[str, str]:
    """Chinese names of the audited tables, from each model's __audit_label__."""
    labels = {
        cls.__tablename__: getattr(cls, "__audit_label__", cls.__tablename__) for cls in _audited_models()
    }
    return dict(sorted(labels.items(), key=lambda item: item[1]))


# Columns many tables have, named once; a model's own __field_labels__ win over these.
COMMON_FIELD_LABELS = {
    "id": "编号",
    "version": "版本",
    "created_at": "创建时间",
    "created_by_id": "填报人编号",
    "updated_at": "修改时间",
    "active": "启用",
}


def field_labels() -> dict[str, dict[str, str]]:
    """Chinese names of each audited table's fields, from each model's __field_labels__."""
    return {
        cls.__tablename__: {**COMMON_FIELD_LABELS, **getattr(cls, "__field_labels__", {})}
        for cls in _audited_models()
    }
