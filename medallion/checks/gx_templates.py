"""Compile Great Expectations' Data Docs templates once per process, not once per page.

GX renders every Data Docs page through a new `DefaultJinjaView`, each with a new Jinja
environment, so the ~50 templates of a validation page are parsed and compiled again on every
validation: about 40% of a suite's time in a day's ingest. A process-wide in-memory bytecode
cache, keyed by template name and checked against the template source's checksum, keeps the
compiled code between views; pages are rendered exactly as before. Kept in this one module,
with a test that fails if GX changes under it.
"""

from __future__ import annotations

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates by name; an entry is used only while its source is unchanged."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        entry = self.codes.get(bucket.key)
        if entry is not None and entry[0] == bucket.checksum:
            bucket.code = entry[1]  # type: ignore[assignment]

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.codes[bucket.key] = (bucket.checksum, bucket.code)


CACHE = MemoryBytecodeCache()
_PATCHED = "_medallion_template_cache"


def install() -> None:
    """Give every GX Jinja view the shared cache; idempotent."""
    from great_expectations.render.view import view

    original = view.DefaultJinjaView.__init__
    if getattr(original, _PATCHED, False):
        return

    def init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        if not hasattr(self, "env"):
            raise RuntimeError(
                "great_expectations changed: DefaultJinjaView has no `env`; revisit "
                "medallion/checks/gx_templates.py"
            )
        self.env.bytecode_cache = CACHE

    setattr(init, _PATCHED, True)
    view.DefaultJinjaView.__init__ = init  # type: ignore[method-assign]
