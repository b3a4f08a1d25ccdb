"""Count incidents per city from one Delta table into another, run by spark-submit.

Usage: spark-submit --master URL tests/cluster_delta_job.py SOURCE_TABLE TARGET_TABLE
Prints one JSON line: master URL, read partition count, new table version, executor count.
"""

from __future__ import annotations

import argparse
import json
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="Delta table of incidents with a city column")
    parser.add_argument("target", help="Delta table to overwrite with one row per city")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from jobs.spark_delta import read_delta, write_delta

    args = parse_args(argv)
    spark = SparkSession.builder.appName("boljam-cluster-delta-test").getOrCreate()
    try:
        incidents = read_delta(spark, args.source)
        partitions = incidents.rdd.getNumPartitions()
        counts = (
            incidents.groupBy("city")
            .agg(F.count(F.lit(1)).alias("incidents"), F.max("reported_at").alias("last_at"))
            .select("city", "incidents", "last_at")
        )
        version = write_delta(counts, args.target, mode="overwrite", partition_by=["city"])
        # Executor ids exclude the driver, so this counts the executors the workers started.
        executor_count = spark.sparkContext._jsc.sc().getExecutorIds().size()
        result = {
            "master": spark.sparkContext.master,
            "read_partitions": partitions,
            "version": version,
            "executors": executor_count,
        }
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
