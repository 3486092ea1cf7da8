"""The committed Cloudflare ranges parse, and a bad list never reaches the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollout import cloudflare_ips
from rollout.errors import InputError


def test_the_committed_list_parses_and_says_where_it_came_from() -> None:
    ranges = cloudflare_ips.load()
    assert len(ranges.ipv4) >= 10 and len(ranges.ipv6) >= 5
    assert "173.245.48.0/20" in ranges.ipv4 and "2606:4700::/32" in ranges.ipv6
    data = json.loads(cloudflare_ips.PATH.read_text())
    assert data["sources"] == list(cloudflare_ips.URLS.values())
    assert len(ranges.read) == 10 and ranges.read.startswith("20")


@pytest.mark.parametrize(
    ("change", "found"),
    [
        ({"ipv4": ["10.0.0.0/8"]}, "ipv4[0]: found 10.0.0.0/8: not a public IPv4 range"),
        ({"ipv4": ["173.245.48.1/20"]}, "ipv4[0]: found '173.245.48.1/20': not a CIDR range"),
        ({"ipv6": ["173.245.48.0/20"]}, "ipv6[0]: found 173.245.48.0/20: not a public IPv6"),
        ({"ipv6": []}, "ipv6: missing or empty"),
        ({"read": None}, "read: missing"),
    ],
)
def test_a_bad_list_is_one_line(change: dict[str, object], found: str) -> None:
    data = {**json.loads(cloudflare_ips.PATH.read_text()), **change}
    with pytest.raises(InputError) as info:
        cloudflare_ips.parse(json.dumps(data))
    assert found in str(info.value)


def test_refresh_refuses_and_keeps_the_file_when_cloudflare_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cloudflare-ips.json"
    path.write_text(cloudflare_ips.PATH.read_text())
    before = path.read_text()

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("Name or service not known")

    monkeypatch.setattr(cloudflare_ips.urllib.request, "urlopen", offline)
    with pytest.raises(InputError, match="run where cloudflare.com is reachable"):
        cloudflare_ips.refresh(path)
    assert path.read_text() == before
