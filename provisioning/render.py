"""Router-type nodes: a deal's RouterService rendered as configuration for one platform,
from the Jinja2 templates in templates/ (<platform>.apply.j2 and <platform>.remove.j2).

The configuration joins the two sides of the node for the deal (a local cross-connect of
two VLAN subinterfaces, or a bridge on Linux) and polices or shapes each side to the
committed rate. Drivers load the text as a NAPALM merge candidate. Golden-file tests pin
what every platform gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from provisioning.intent import NotAdmitted, RouterService

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLATFORMS = ("junos", "eos", "iosxr", "ixlinux")
LINUX_IFNAMSIZ = 15  # longest Linux interface name

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,  # a missing value is an error, never an empty string in a config
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # device configuration, not HTML
)


@dataclass(frozen=True, slots=True)
class End:
    port: str
    vlan: int  # 0: the port itself, untagged (Linux nodes only)

    @property
    def device(self) -> str:
        """The Linux device that carries this side."""
        return f"{self.port}.{self.vlan}" if self.vlan else self.port


def service_name(deal_id: int) -> str:
    return f"ixchange-deal-{deal_id}"


def render(service: RouterService, platform: str, remove: bool = False) -> str:
    """The configuration that provisions (or, with `remove`, removes) `service`."""
    if platform not in PLATFORMS:
        raise NotAdmitted(f"node {service.node}: no templates for platform {platform!r} ({', '.join(PLATFORMS)})")
    ends = (
        End(service.buyer_side_port, service.buyer_side_vlan),
        End(service.seller_side_port, service.seller_side_vlan),
    )
    bridge = f"ixd{service.deal_id}"
    if platform == "ixlinux":
        for name in (bridge, *(e.device for e in ends)):
            if len(name) > LINUX_IFNAMSIZ:
                raise NotAdmitted(f"node {service.node}: Linux interface name {name!r} is longer than 15 characters")
    elif not all(e.vlan for e in ends):
        raise NotAdmitted(f"node {service.node}: {platform} hand-offs must be VLAN-tagged")
    template = _env.get_template(f"{platform}.{'remove' if remove else 'apply'}.j2")
    return template.render(
        name=service_name(service.deal_id),
        bridge=bridge,
        ends=ends,
        rate_kbps=service.rate_kbps,
        burst_bytes=service.burst_kbits * 125,  # kbit -> bytes
    )
