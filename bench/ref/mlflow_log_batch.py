"""Reference for bench/tracking.ts: MLflow's own Python client logging the same points.

RUNS runs of POINTS_PER_RUN points each (two keys per step, as the bench), sent with
MlflowClient().log_batch in chunks of CHUNK metrics, each run created and terminated. The
experiment is created, or reused when it exists (the bench calls this once per round).
Usage: mlflow_log_batch.py URI EXPERIMENT RUNS POINTS_PER_RUN CHUNK; prints one JSON line.
"""
import json
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric


def main():
    uri, experiment = sys.argv[1], sys.argv[2]
    runs, per_run, chunk = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    client = MlflowClient(tracking_uri=uri)
    existing = client.get_experiment_by_name(experiment)  # not timed (the TS tracker's lookup is, once per tracker)
    exp_id = existing.experiment_id if existing else client.create_experiment(experiment)
    t0 = time.perf_counter()
    requests = 0
    for r in range(runs):
        run = client.create_run(exp_id, run_name=f"bench-py-{r}")
        metrics = []
        for step in range(per_run // 2):
            ts = 1_700_000_000_000 + step
            metrics.append(Metric("train/loss", 1 / (step + 1), ts, step))
            metrics.append(Metric("train/acc", step / per_run, ts, step))
        for i in range(0, len(metrics), chunk):
            client.log_batch(run.info.run_id, metrics=metrics[i:i + chunk])
            requests += 1
        client.set_terminated(run.info.run_id)
        requests += 2
    seconds = time.perf_counter() - t0
    points = runs * per_run
    print(json.dumps({
        "seconds": round(seconds, 3), "points_per_second": round(points / seconds),
        "http_requests": requests, "chunk": chunk, "mlflow": mlflow.__version__,
    }))


if __name__ == "__main__":
    main()
