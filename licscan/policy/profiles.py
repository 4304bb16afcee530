"""Distribution profiles: how a project reaches others, which decides what a license obliges."""

from __future__ import annotations

from licscan.model import LicscanError

PROFILES = ("source", "binary", "network")
"""How the project reaches others: as source, as built artifacts, or only as a network service."""
DEFAULT_PROFILE = "binary"


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise LicscanError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    return profile
