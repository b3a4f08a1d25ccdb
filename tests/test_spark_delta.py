"""Spark reads and writes Delta tables through the delta-rs backed Python data source."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from jobs.spark_delta import (
    DeltaSchemaMismatchError,
    DeltaTableNotFoundError,
    DeltaWriteModeError,
    has_delta_spark,
    read_delta,
    write_delta,
)

pytestmark = pytest.mark.spark

ALMATY = dt.timezone(dt.timedelta(hours=5))


def _incidents(spark, rows):
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField("incident_id", T.LongType()),
            T.StructField("city", T.StringType()),
            T.StructField("reported_at", T.TimestampType()),
        ]
    )
    return spark.createDataFrame(rows, schema)


def _sorted_rows(path: Path, key: str) -> list[dict]:
    return sorted(DeltaTable(str(path)).to_pyarrow_table().to_pylist(), key=lambda r: r[key])


def _data_files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*.parquet")}


def test_session_has_no_delta_spark(spark):
    assert has_delta_spark(spark) is False


def test_append_twice_read_by_deltalake(spark, tmp_path):
    table = tmp_path / "incidents"
    first = _incidents(spark, [(1, "Almaty", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))])
    second = _incidents(spark, [(2, "Astana", dt.datetime(2024, 1, 2, tzinfo=dt.UTC))])

    assert write_delta(first, table) == 0
    assert write_delta(second, table, mode="append") == 1

    rows = _sorted_rows(table, "incident_id")
    assert [r["incident_id"] for r in rows] == [1, 2]
    assert [r["city"] for r in rows] == ["Almaty", "Astana"]
    assert rows[1]["reported_at"] == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert read_delta(spark, table).count() == 2
    assert read_delta(spark, table, version=0).count() == 1


def test_overwrite_replaces_rows(spark, tmp_path):
    table = tmp_path / "incidents"
    write_delta(_incidents(spark, [(1, "Almaty", None), (2, "Astana", None)]), table)

    version = write_delta(_incidents(spark, [(3, "Shymkent", None)]), table, mode="overwrite")

    assert version == 1
    rows = _sorted_rows(table, "incident_id")
    assert [(r["incident_id"], r["city"]) for r in rows] == [(3, "Shymkent")]
    assert read_delta(spark, table).collect()[0]["city"] == "Shymkent"


def test_overwrite_changes_partitioning(spark, tmp_path):
    table = tmp_path / "incidents"
    write_delta(_incidents(spark, [(1, "Almaty", None)]), table)

    write_delta(_incidents(spark, [(2, "Astana", None)]), table, "overwrite", ["city"])

    dt_table = DeltaTable(str(table))
    assert dt_table.metadata().partition_columns == ["city"]
    assert [r["incident_id"] for r in dt_table.to_pyarrow_table().to_pylist()] == [2]


def test_partitioned_write_layout_and_values(spark, tmp_path):
    table = tmp_path / "incidents"
    rows = [(1, "Almaty", None), (2, "Almaty", None), (3, "Нур-Султан", None), (4, None, None)]

    write_delta(_incidents(spark, rows).repartition(1), table, partition_by=["city"])

    dt_table = DeltaTable(str(table))
    assert dt_table.metadata().partition_columns == ["city"]
    actions = pa.table(dt_table.get_add_actions(flatten=True)).to_pylist()
    assert sorted(a["partition.city"] or "" for a in actions) == ["", "Almaty", "Нур-Султан"]
    assert sorted(a["num_records"] for a in actions) == [1, 1, 2]
    # Partition columns live in the log, not in the Parquet files.
    almaty_file = next(p for p in table.rglob("*.parquet") if "Almaty" in str(p))
    assert pa.parquet.read_schema(almaty_file).names == ["incident_id", "reported_at"]
    by_id = {r["incident_id"]: r["city"] for r in _sorted_rows(table, "incident_id")}
    assert by_id == {1: "Almaty", 2: "Almaty", 3: "Нур-Султан", 4: None}
    spark_rows = {r["incident_id"]: r["city"] for r in read_delta(spark, table).collect()}
    assert spark_rows == {1: "Almaty", 2: "Almaty", 3: "Нур-Султан", 4: None}


def test_append_partition_columns_must_match(spark, tmp_path):
    table = tmp_path / "incidents"
    write_delta(_incidents(spark, [(1, "Almaty", None)]), table, partition_by=["city"])

    with pytest.raises(DeltaSchemaMismatchError, match="partition columns"):
        write_delta(_incidents(spark, [(2, "Astana", None)]), table, partition_by=[])
    # Without partition_by an append uses the table's partition columns.
    assert write_delta(_incidents(spark, [(2, "Astana", None)]), table) == 1
    assert DeltaTable(str(table)).metadata().partition_columns == ["city"]


def test_append_rejects_other_columns(spark, tmp_path):
    table = tmp_path / "incidents"
    write_delta(_incidents(spark, [(1, "Almaty", None)]), table)
    other = spark.createDataFrame([(1, 2.5)], "incident_id long, score double")

    with pytest.raises(DeltaSchemaMismatchError, match="do not match"):
        write_delta(other, table)
    assert DeltaTable(str(table)).version() == 0


def test_unknown_mode_rejected(spark, tmp_path):
    with pytest.raises(DeltaWriteModeError, match="'ignore'"):
        write_delta(_incidents(spark, []), tmp_path / "t", mode="ignore")


def test_read_missing_table_raises(spark, tmp_path):
    with pytest.raises(DeltaTableNotFoundError, match="no Delta table at"):
        read_delta(spark, tmp_path / "missing")


def test_timestamps_with_and_without_zone(spark, tmp_path):
    from pyspark.sql import functions as F

    table = tmp_path / "events"
    df = spark.createDataFrame(
        [(1, dt.datetime(2024, 3, 10, 18, 30, tzinfo=ALMATY), dt.datetime(2024, 3, 10, 18, 30))],
        "event_id long, occurred_at timestamp, occurred_local timestamp_ntz",
    )

    write_delta(df, table)

    schema = DeltaTable(str(table)).schema().to_arrow()
    arrow = pa.schema(schema)
    assert arrow.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert arrow.field("occurred_local").type == pa.timestamp("us")
    row = DeltaTable(str(table)).to_pyarrow_table().to_pylist()[0]
    # 18:30 at UTC+5 is 13:30 UTC; the naive timestamp keeps its wall clock.
    assert row["occurred_at"] == dt.datetime(2024, 3, 10, 13, 30, tzinfo=dt.UTC)
    assert row["occurred_local"] == dt.datetime(2024, 3, 10, 18, 30)
    back = read_delta(spark, table).select(
        F.unix_micros("occurred_at").alias("at_micros"),
        F.date_format("occurred_local", "yyyy-MM-dd HH:mm:ss").alias("local_text"),
    )
    result = back.collect()[0]
    assert result["at_micros"] == 1_710_077_400_000_000
    assert result["local_text"] == "2024-03-10 18:30:00"


def test_timestamp_survives_other_session_zone(spark, tmp_path):
    from pyspark.sql import functions as F

    table = tmp_path / "events"
    write_deltalake(
        str(table),
        pa.table(
            {
                "occurred_at": pa.array(
                    [dt.datetime(2024, 3, 10, 13, 30, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
                )
            }
        ),
    )
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tashkent")
    try:
        text = (
            read_delta(spark, table)
            .select(F.date_format("occurred_at", "yyyy-MM-dd HH:mm").alias("t"))
            .collect()[0]["t"]
        )
        micros = read_delta(spark, table).select(F.unix_micros("occurred_at")).collect()[0][0]
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)
    assert micros == 1_710_077_400_000_000
    # Asia/Tashkent is UTC+5 all year.
    assert text == "2024-03-10 18:30"


def test_nulls_in_every_type(spark, tmp_path):
    table = tmp_path / "nulls"
    df = spark.createDataFrame(
        [
            (1, "a", 1.5, True, dt.date(2024, 1, 1), Decimal("1.25"), None),
            (2, None, None, None, None, None, None),
        ],
        "id long, s string, x double, b boolean, d date, m decimal(5,2), ts timestamp",
    )

    write_delta(df, table)

    rows = _sorted_rows(table, "id")
    assert rows[1] == {
        "id": 2,
        "s": None,
        "x": None,
        "b": None,
        "d": None,
        "m": None,
        "ts": None,
    }
    assert rows[0]["m"] == Decimal("1.25")
    assert rows[0]["d"] == dt.date(2024, 1, 1)
    back = {r["id"]: r.asDict() for r in read_delta(spark, table).collect()}
    assert back[2]["s"] is None
    assert back[2]["m"] is None
    assert back[1]["m"] == Decimal("1.25")
    assert back[1]["b"] is True


def test_one_read_partition_per_file(spark, tmp_path):
    table = tmp_path / "three_files"
    df = spark.createDataFrame([(i,) for i in range(6)], "id long").repartition(3)

    write_delta(df, table)

    assert len(DeltaTable(str(table)).file_uris()) == 3
    read = read_delta(spark, table)
    assert read.rdd.getNumPartitions() == 3
    assert sorted(r["id"] for r in read.collect()) == [0, 1, 2, 3, 4, 5]


def test_empty_write_creates_table(spark, tmp_path):
    table = tmp_path / "empty"

    assert write_delta(_incidents(spark, []), table) == 0

    assert DeltaTable(str(table)).file_uris() == []
    assert read_delta(spark, table).count() == 0
    assert read_delta(spark, table).columns == ["incident_id", "city", "reported_at"]


def test_spark_reads_deltalake_table(spark, tmp_path):
    table = tmp_path / "from_deltalake"
    data = pa.table(
        {
            "cell": ["872a1072bffffff", "872a1072bffffff", "872a10729ffffff"],
            "week": pa.array(
                [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 1)], pa.date32()
            ),
            "count": pa.array([3, None, 7], pa.int32()),
        }
    )
    write_deltalake(str(table), data, partition_by=["week"])
    write_deltalake(str(table), data.slice(0, 1), mode="append", partition_by=["week"])

    read = read_delta(spark, table)

    assert read.rdd.getNumPartitions() == 3
    assert dict(read.dtypes) == {"cell": "string", "week": "date", "count": "int"}
    rows = sorted((r["cell"], r["week"], r["count"]) for r in read.collect())
    assert rows == [
        ("872a10729ffffff", dt.date(2024, 1, 1), 7),
        ("872a1072bffffff", dt.date(2024, 1, 1), 3),
        ("872a1072bffffff", dt.date(2024, 1, 1), 3),
        ("872a1072bffffff", dt.date(2024, 1, 8), None),
    ]


def test_deltalake_appends_to_spark_table(spark, tmp_path):
    table = tmp_path / "mixed"
    write_delta(_incidents(spark, [(1, "Almaty", None)]), table, partition_by=["city"])

    write_deltalake(
        str(table),
        pa.table(
            {
                "incident_id": pa.array([2], pa.int64()),
                "city": ["Astana"],
                "reported_at": pa.array([None], pa.timestamp("us", tz="UTC")),
            }
        ),
        mode="append",
    )

    rows = sorted((r["incident_id"], r["city"]) for r in read_delta(spark, table).collect())
    assert rows == [(1, "Almaty"), (2, "Astana")]


def test_file_stats_prune_files(spark, tmp_path):
    table = tmp_path / "stats"
    df = spark.createDataFrame(
        [(1, dt.datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=dt.UTC)), (5, None)],
        "id long, at timestamp",
    ).repartition(1)

    write_delta(df, table)

    log = (table / "_delta_log" / "00000000000000000000.json").read_text().splitlines()
    add = next(json.loads(line)["add"] for line in log if '"add"' in line)
    stats = json.loads(add["stats"])
    assert stats["numRecords"] == 2
    assert stats["nullCount"] == {"id": 0, "at": 1}
    assert stats["minValues"] == {"id": 1, "at": "2024-01-01T00:00:00.000Z"}
    # 500 microseconds past the second round up to the next millisecond.
    assert stats["maxValues"] == {"id": 5, "at": "2024-01-01T00:00:00.001Z"}
    dt_table = DeltaTable(str(table))
    assert dt_table.file_uris(file_pruning_predicate="id > 5") == []
    assert len(dt_table.file_uris(file_pruning_predicate="id = 5")) == 1


def test_failing_write_leaves_no_version(spark, tmp_path):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    table = tmp_path / "incidents"
    write_delta(_incidents(spark, [(1, "Almaty", None)]), table)
    files_before = _data_files(table)

    @F.udf(T.LongType())
    def fail_on_seven(value):
        if value == 7:
            # The other task finishes its file first, so abort() has a file to delete.
            time.sleep(3)
            raise ValueError("row 7 is rejected on purpose")
        return value

    rows = [(i, "Astana", None) for i in range(2, 10)]
    failing = (
        _incidents(spark, rows)
        .repartition(2)
        .withColumn("incident_id", fail_on_seven("incident_id"))
    )
    with pytest.raises(Exception, match="row 7 is rejected on purpose"):
        write_delta(failing, table)

    assert DeltaTable(str(table)).version() == 0
    assert _data_files(table) == files_before
    assert read_delta(spark, table).count() == 1
