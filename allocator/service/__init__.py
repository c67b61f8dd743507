"""The HTTP service (SPEC v2 section 9, ``docs/service.md``): ``allocator serve``.

A FastAPI application (:func:`create_app`) over an SQLite job store (:mod:`.store`) and a job
runner on Dask (:mod:`.jobs`); what a worker runs for a job is in :mod:`.work`.
"""

from allocator.service.app import ServiceSettings, create_app

__all__ = ["ServiceSettings", "create_app"]
