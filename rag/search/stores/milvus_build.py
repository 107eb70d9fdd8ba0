"""``rag build --store milvus``: bring the local build up to date, then publish it.

Nothing is done (and no model is loaded) when the build Milvus serves passes every
check against the settings and the corpus.  Otherwise the local build under ``index/``
is brought up to date (it is the builder's working copy and vector cache: only changed
texts are embedded) and published as a new Milvus build (``milvus_write.publish``).
Serving processes never read the local files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.errors import IndexProblem, StoreUnavailable
from rag.search import locks
from rag.search.build import BuildExtra, BuildReport, build_index, extras_reason, up_to_date
from rag.search.index import current_build
from rag.search.stores import milvus_client as mc
from rag.search.stores.milvus_store import open_build
from rag.search.stores.milvus_write import PublishReport, publish, rollback
from rag.settings import Settings


@dataclass
class MilvusBuildReport:
    reason: str  # why a new build was published ('' when Milvus was up to date)
    serving: str  # the build the alias points at now
    local: BuildReport | None = None
    published: PublishReport | None = None


def milvus_reason(settings: Settings, extras: Sequence[BuildExtra] = ()) -> tuple[str, str]:
    """(why Milvus needs a new build or '' when it is up to date, the build it serves);
    ``extras``: precomputations the build must carry (e.g. the question bank)."""
    client = mc.connect(settings)
    meta = mc.current_meta(client, settings)
    if meta is None:
        return "no index in Milvus yet", ""
    try:
        build = open_build(client, settings, meta, None)
    except StoreUnavailable:
        raise
    except IndexProblem as exc:
        return str(exc).removesuffix("; run `rag build --store milvus`"), meta
    return build.stale or extras_reason(build.manifest, extras), build.names.build


def publish_lock(settings: Settings):
    """One publisher at a time from this machine (other builders wait)."""
    return locks.exclusive(settings.index_dir / ".milvus.lock")


def build_milvus(settings: Settings, make_embedder: Callable[[], object], force: bool = False,
                 progress: bool = False, extras: Sequence[BuildExtra] = ()) -> MilvusBuildReport:
    """Publish a new build when Milvus' is missing, stale or damaged (or ``force``), with
    the ``extras`` precomputations the local build writes (e.g. the question bank)."""
    reason, serving = milvus_reason(settings, extras)
    if not reason and not force:
        return MilvusBuildReport("", serving)
    local = None
    if force or up_to_date(settings, extras) is None:
        local = build_index(settings, make_embedder(), force=force, progress=progress,
                            extras=extras)
    build_dir = current_build(settings)
    if build_dir is None:
        raise IndexProblem(f"no local build to publish under {settings.index_dir}; "
                           "run `rag build`")
    with publish_lock(settings):
        report = publish(settings, build_dir, progress=progress)
    return MilvusBuildReport(reason or "forced", report.build, local, report)


def rollback_milvus(settings: Settings) -> tuple[str, str]:
    """Serve the previous kept build again: (the build left, the build served now)."""
    with publish_lock(settings):
        return rollback(settings, check=lambda client, meta: open_build(
            client, settings, meta, None))
