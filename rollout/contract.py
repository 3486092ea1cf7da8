"""The contract between stacks: what a regional stack exports, as one typed model.

The regional program writes its outputs through :class:`RegionOutputs` (``Region.outputs``);
the global stack's edge reads a StackReference's outputs back through it, and the residency
policy reads a planned stack's region through :func:`region_of`. A renamed or missing key is
therefore an error in one of those places, never a check that silently stops running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class CellOutputs(Generic[T]):
    """One cell, as the edge needs it. ``T`` is ``pulumi.Output[str]`` when written, ``str``
    when read back."""

    ingress_address: T
    """The cell's reserved ingress address."""
    cluster_name: T
    """The cell's GKE cluster name."""
    database_id: T
    """The cell's Spanner database id."""
    origin_hostname: T
    """The cell's own origin host in the edge's zone (the cell router's target)."""

    def exports(self) -> dict[str, T]:
        """Output key -> value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RegionOutputs(Generic[T]):
    """Everything a regional stack exports; its field names are the stack's output keys."""

    region: str
    """The GCP region: the stack's data residency."""
    hub: str
    """The community hub that runs the region."""
    spanner_instance: T
    kafka_cluster: T
    cells: Mapping[str, CellOutputs[T]]
    """Cell name -> its outputs."""

    def exports(self) -> dict[str, Any]:
        """Output key -> value, for ``pulumi.export`` and ``register_outputs``."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cells"] = {name: cell.exports() for name, cell in self.cells.items()}
        return out

    @classmethod
    def parse(cls, outputs: Mapping[str, Any] | None) -> RegionOutputs[str]:
        """A regional stack's outputs read back; a missing key is a one-line error."""
        data = dict(outputs or {})
        missing = [f.name for f in fields(cls) if f.name not in data]
        if missing:
            raise ContractError(
                f"regional stack outputs lack {', '.join(missing)}; found {sorted(data)}"
            )
        cells: dict[str, CellOutputs[str]] = {}
        for name, cell in (data["cells"] or {}).items():
            lacking = [f.name for f in fields(CellOutputs) if f.name not in (cell or {})]
            if lacking:
                raise ContractError(f"cell {name!r} of the outputs lacks {', '.join(lacking)}")
            cells[name] = CellOutputs(**{f.name: cell[f.name] for f in fields(CellOutputs)})
        return RegionOutputs(
            region=data["region"],
            hub=data["hub"],
            spanner_instance=data["spanner_instance"],
            kafka_cluster=data["kafka_cluster"],
            cells=cells,
        )


class ContractError(ValueError):
    """A stack's outputs do not follow the contract."""


# The key the residency rule reads; the field above, so renaming it breaks here at import.
REGION_KEY = RegionOutputs.__dataclass_fields__["region"].name


def region_of(outputs: Mapping[str, Any]) -> str | None:
    """A planned stack's region, or None for a stack that exports none (the global one)."""
    region = outputs.get(REGION_KEY)
    return region if isinstance(region, str) and region else None
