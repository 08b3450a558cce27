"""Base classes for request and response bodies."""

from typing import Any, ClassVar, Self

from pydantic import ConfigDict, model_validator
from sqlmodel import SQLModel


class Input(SQLModel):
    """Request bodies: unknown fields are refused, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[assignment]


class Output(SQLModel):
    model_config = ConfigDict(from_attributes=True)  # type: ignore[assignment]


class Patch(Input):
    """PATCH bodies: omitted fields stay as they are; null is accepted only where a value may be
    cleared (listed in `clearable`)."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_null_for_required(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.clearable:
                raise ValueError(f"{name} cannot be null; omit it to leave it unchanged")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
