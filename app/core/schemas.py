"""Base classes for request and response bodies."""

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
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


class ShownOnce:
    """Marks a response field holding a secret its caller sees once (an invitation token), or
    one the database keeps only sealed (a family's invitation code): the secret is never stored
    in clear, so nothing that stores responses may keep it either. Mark it
    `Annotated[str | None, ShownOnce()]`; where a stored response is replayed, it reads null."""


def without_secrets(model: BaseModel) -> dict[str, Any]:
    """`model` as JSON data, every field marked ShownOnce (at any depth) set to null."""
    data: dict[str, Any] = model.model_dump(mode="json")
    _withhold(model, data)
    return data


def _withhold(model: BaseModel, data: dict[str, Any]) -> None:
    for name, info in type(model).model_fields.items():
        if any(isinstance(m, ShownOnce) for m in info.metadata):
            data[name] = None
            continue
        value = getattr(model, name)
        for item, item_data in _nested(value, data.get(name)):
            _withhold(item, item_data)


def _nested(value: Any, data: Any) -> list[tuple[BaseModel, dict[str, Any]]]:
    if isinstance(value, BaseModel):
        return [(value, data)]
    if isinstance(value, list | tuple):
        return [(v, d) for v, d in zip(value, data, strict=True) if isinstance(v, BaseModel)]
    return []
