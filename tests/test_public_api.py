"""The package's public face stays small and honest (httpx's test_exported_members)."""

import toolkit
import toolkit.ingest
import toolkit.store


def test_all_is_sorted_and_exported() -> None:
    for module in (toolkit, toolkit.ingest, toolkit.store):
        assert module.__all__ == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_public_members_are_documented() -> None:
    for name in toolkit.__all__:
        assert getattr(toolkit, name).__doc__, name
