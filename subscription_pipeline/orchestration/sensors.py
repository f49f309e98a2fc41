"""The upload sensor: a new or changed CSV in the landing zone becomes a partition and a run.

It reads only the folder listing (never the database, which a run may hold) and keeps each file's
size and modification time in its cursor, so a re-dropped file with new content runs again.
"""

import json
from pathlib import Path

import dagster as dg

from subscription_pipeline.ingest.csv_upload import UPLOADS_DIR, list_uploads
from subscription_pipeline.orchestration.jobs import ingest_uploads_job
from subscription_pipeline.orchestration.partitions import UPLOAD_PARTITIONS_NAME
from subscription_pipeline.orchestration.resources import WarehouseResource


def upload_fingerprints(data_dir: Path) -> dict[str, str]:
    """File name -> 'size:mtime_ns' (lstat: a symbolic link is fingerprinted, never followed)."""
    fingerprints = {}
    for name in list_uploads(data_dir):
        stat = (data_dir / UPLOADS_DIR / name).lstat()
        fingerprints[name] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return fingerprints


@dg.sensor(
    job=ingest_uploads_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers each new CSV upload as a partition and requests its ingestion.",
)
def upload_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = upload_fingerprints(warehouse.data_path())
    changed = sorted(name for name, print_ in current.items() if seen.get(name) != print_)
    if not changed:
        return dg.SkipReason("no new or changed uploads")
    known = set(context.instance.get_dynamic_partitions(UPLOAD_PARTITIONS_NAME))
    new = [name for name in changed if name not in known]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"{name}:{current[name]}", partition_key=name) for name in changed
        ],
        dynamic_partitions_requests=[
            dg.AddDynamicPartitionsRequest(
                partitions_def_name=UPLOAD_PARTITIONS_NAME, partition_keys=new
            )
        ]
        if new
        else [],
        cursor=json.dumps(current, sort_keys=True),
    )
