"""Districts and zones, and the bureau's divisions (处室): the units work is done and counted by."""

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

DISTRICT_KINDS = ("区", "县", "自治县", "功能区")


class District(db.Model):
    """One of Chongqing's 38 区县, or a zone the seed treats as a district (两江新区 …)."""

    __tablename__ = "districts"
    __audit_label__ = "区县"
    __field_labels__ = {"id": "编号", "name": "名称", "kind": "类型", "aliases": "别名", "sort_order": "排序"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user sees only their own district's row."""
        return cls.id == district_id

    def __repr__(self) -> str:
        return f"<District {self.name}>"


class Division(db.Model):
    """One of the bureau's divisions (处室, e.g. 产业招商一处): officers and managers belong to one,
    events are organised by one, and the 招商活跃指数 ranks them beside the districts. Listed in
    crm/industry/data/divisions.yaml; one left out of the file is kept (its history still counts)
    but no longer offered."""

    __tablename__ = "divisions"
    __audit_label__ = "处室"
    __field_labels__ = {"id": "编号", "name": "名称", "active": "在用", "sort_order": "排序"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<Division {self.name}>"
