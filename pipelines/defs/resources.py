"""Resources handed to the assets: the settings and the warehouse. Assets never read the
process environment or open a warehouse by path; they ask these."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from pipelines import warehouse
from pipelines.run_lock import warehouse_lock
from pipelines.settings import Settings, load_settings


class CoprodSettings(dg.ConfigurableResource):
    """Where the pipeline's files live and the knobs an operator may turn (pipelines/settings.py),
    read from the COPROD_* environment variables once, when a run starts."""

    overrides: dict[str, str] = Field(
        default_factory=dict,
        description="COPROD_* settings to use instead of the environment's, e.g. "
        '{"COPROD_DATA_DIR": "/srv/coprod/data"}.',
    )
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_settings({**os.environ, **self.overrides})

    @property
    def settings(self) -> Settings:
        if self._settings is None:  # used outside a run (a sensor tick)
            self._settings = load_settings({**os.environ, **self.overrides})
        return self._settings


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse, held under its single-writer lock for the whole run, so runs from
    the CLI, the schedule, the sensor and the UI never overlap."""

    coprod: CoprodSettings

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        settings = self.coprod.settings
        with warehouse_lock(
            settings.data_dir,
            on_wait=lambda: context.log.info(
                "Another run is writing this warehouse; waiting for it to finish."
            ),
        ):
            yield self

    @property
    def settings(self) -> Settings:
        return self.coprod.settings

    def connect(self, read_only: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return warehouse.connect(self.settings.warehouse, read_only=read_only)
