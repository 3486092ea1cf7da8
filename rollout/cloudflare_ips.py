"""Cloudflare's published edge ranges, committed as data: ``edge/cloudflare-ips.json``.

A cell's ingress admits only these sources (its Cloud Armor policy), so a request that did not
pass through Cloudflare's WAF and rate limits never reaches a cell. The file records where the
list came from and when it was read; ``rollout edge refresh-ips`` fetches the lists again and
rewrites the file atomically, for review as a diff.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from rollout import files
from rollout.errors import InputError

FILE = "edge/cloudflare-ips.json"
PATH = Path(__file__).resolve().parent.parent / FILE
URLS = {"ipv4": "https://www.cloudflare.com/ips-v4", "ipv6": "https://www.cloudflare.com/ips-v6"}
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class CloudflareRanges:
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]
    read: str
    """The date the list was read (YYYY-MM-DD)."""

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.ipv4, *self.ipv6)


def parse(text: str, file: str = FILE) -> CloudflareRanges:
    """The ranges of the data file; one line naming the key for anything that is not a CIDR."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError.one(file, "(file)", f"not JSON ({exc}); restore it from git") from None
    if not isinstance(data, dict):
        raise InputError.one(file, "(root)", "expected an object with ipv4, ipv6 and read")
    out: dict[str, tuple[str, ...]] = {}
    for family, version in (("ipv4", 4), ("ipv6", 6)):
        items = data.get(family)
        if not isinstance(items, list) or not items:
            raise InputError.one(file, family, "missing or empty; expected a list of CIDR ranges")
        for i, item in enumerate(items):
            try:
                net = ipaddress.ip_network(item, strict=True)
            except (TypeError, ValueError):
                raise InputError.one(
                    file, f"{family}[{i}]", f"found {item!r}: not a CIDR range"
                ) from None
            if net.version != version or not net.is_global:
                raise InputError.one(
                    file, f"{family}[{i}]", f"found {item}: not a public IPv{version} range"
                )
        out[family] = tuple(items)
    read = data.get("read")
    if not isinstance(read, str):
        raise InputError.one(file, "read", "missing; the date the list was read, YYYY-MM-DD")
    return CloudflareRanges(ipv4=out["ipv4"], ipv6=out["ipv6"], read=read)


@cache
def load(path: Path = PATH) -> CloudflareRanges:
    return parse(files.read_bytes(path, max_bytes=MAX_BYTES, file=FILE).decode("utf-8"))


def refresh(path: Path = PATH, timeout: float = 20) -> CloudflareRanges:
    """Fetch both lists from Cloudflare and rewrite the data file (atomically)."""
    fetched: dict[str, list[str]] = {}
    for family, url in URLS.items():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https)
                body = response.read(MAX_BYTES).decode("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError.one(
                url, "(fetch)", f"cannot read it ({exc}); run where cloudflare.com is reachable"
            ) from None
        fetched[family] = [line.strip() for line in body.splitlines() if line.strip()]
    current = json.loads(path.read_text(encoding="utf-8"))
    current.update(fetched)
    current["read"] = datetime.now(UTC).date().isoformat()
    current["read_from"] = "the two URLs in sources"
    text = json.dumps(current, indent=2) + "\n"
    ranges = parse(text)  # never write a list that does not parse
    files.write_file(path, text, file=FILE)
    load.cache_clear()
    return ranges


def _cmd_refresh(args: argparse.Namespace) -> int:
    ranges = refresh(args.root / FILE)
    print(f"wrote {FILE}: {len(ranges.ipv4)} IPv4 and {len(ranges.ipv6)} IPv6 ranges")
    return 0


def add_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = subparsers.add_parser("edge", help="edge data: Cloudflare's published IP ranges")
    sub = edge.add_subparsers(dest="edge_command", required=True, metavar="COMMAND")
    refresh_parser = sub.add_parser("refresh-ips", help=f"fetch Cloudflare's ranges into {FILE}")
    refresh_parser.set_defaults(func=_cmd_refresh)
