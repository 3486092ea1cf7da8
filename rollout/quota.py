"""Quota pre-flight: what each stack's project needs at full scale, before the first `pulumi up`.

A new project's regional quotas are far below what a region of cells needs at its maximum size
(Compute Engine's defaults are often 24 vCPUs a region; they vary by project,
https://cloud.google.com/compute/resource-usage), and the autoscalers do not fail loudly at a
quota: a node pool simply stops growing. `rollout validate` prints one line per region with
the numbers to request, each beside the quota that holds it:

- vCPUs: every cell's node pool at its maximum, 3 zones x max_nodes_per_zone nodes of the
  machine type (the family's regional quota, e.g. N2_CPUS, and the region's CPUS);
- boot disk: the same nodes x disk_size_gb of pd-balanced (SSD_TOTAL_GB);
- Spanner: the regional instance's autoscaling maximum in processing units (and the global
  directory's, on its own configuration).
"""

from __future__ import annotations

from dataclasses import dataclass

from rollout import catalog
from rollout.config import Project


@dataclass(frozen=True)
class RegionNeeds:
    """What one regional stack's project needs when every cell runs at its maximum."""

    stack: str
    region: str
    cells: int
    nodes_per_zone: int
    machine_type: str
    disk_gb: int
    """Each node's boot disk."""
    processing_units: int
    """The regional Spanner instance's autoscaling maximum."""

    @property
    def nodes(self) -> int:
        return self.cells * catalog.GKE_REGIONAL_ZONES * self.nodes_per_zone

    @property
    def vcpus(self) -> int:
        return self.nodes * catalog.MACHINE_TYPE_VCPUS[self.machine_type]

    @property
    def disk_total_gb(self) -> int:
        return self.nodes * self.disk_gb

    def line(self) -> str:
        family = catalog.machine_family(self.machine_type)
        metric = catalog.MACHINE_FAMILIES[family][0]
        disk, disk_quota = catalog.GKE_BOOT_DISK_TYPE, catalog.GKE_BOOT_DISK_QUOTA
        return (
            f"quota {self.stack} ({self.region}): {self.vcpus} vCPUs ({metric}, CPUS), "
            f"{self.disk_total_gb} GB {disk} ({disk_quota}), "
            f"{self.processing_units} Spanner processing units; from {self.cells} cells x "
            f"{catalog.GKE_REGIONAL_ZONES} zones x {self.nodes_per_zone} nodes of "
            f"{self.machine_type} ({catalog.MACHINE_TYPE_VCPUS[self.machine_type]} vCPUs, "
            f"{self.disk_gb} GB)"
        )


def region_needs(project: Project) -> list[RegionNeeds]:
    """Every regional stack's needs, from its merged spec (stack overrides included)."""
    out = []
    for stack in project.regional_stacks():
        spec = stack.region
        assert spec is not None
        out.append(
            RegionNeeds(
                stack=stack.name,
                region=spec.region,
                cells=len(spec.cells),
                nodes_per_zone=spec.cluster.max_nodes_per_zone,
                machine_type=spec.cluster.machine_type,
                disk_gb=spec.cluster.disk_size_gb,
                processing_units=spec.spanner.autoscaling.max_processing_units,
            )
        )
    return out


def lines(project: Project) -> list[str]:
    """The pre-flight, one line per regional stack, then the global directory's."""
    out = [needs.line() for needs in region_needs(project)]
    directory = project.global_.directory
    out.append(
        f"quota global ({directory.instance_config}): "
        f"{directory.autoscaling.max_processing_units} Spanner processing units"
    )
    return out
