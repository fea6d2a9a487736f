"""Resources shared by the assets."""

import dagster as dg

from pipelines.run_lock import warehouse_lock
from pipelines.settings import load_settings


@dg.resource(
    description="Holds the warehouse's single-writer lock for the whole run, so runs "
    "from the CLI, the schedule, the sensor and the UI never overlap."
)
def warehouse_lock_resource(init_context: dg.InitResourceContext):
    settings = load_settings()
    with warehouse_lock(
        settings.data_dir,
        on_wait=lambda: init_context.log.info(
            "Another run is writing this warehouse; waiting for it to finish."
        ),
    ):
        yield settings.data_dir
