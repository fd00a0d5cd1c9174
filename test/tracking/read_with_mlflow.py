"""Reads an experiment back with MLflow's own Python client (a reader iwpl did not write).

Usage: read_with_mlflow.py URI EXPERIMENT_NAME DOWNLOAD_DIR
Prints JSON: every run (mlflow.search_runs), the full history of each metric
(MlflowClient.get_metric_history), dataset inputs, and the artifacts downloaded with
mlflow.artifacts.download_artifacts (path -> hex sha256 and size). Non-finite floats are written
as the strings "NaN", "Infinity", "-Infinity" so that JSON.parse can read them.
"""
import hashlib
import json
import math
import os
import sys

import mlflow
from mlflow import MlflowClient


def num(x):
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def main():
    uri, experiment, download_dir = sys.argv[1:4]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    runs = mlflow.search_runs(experiment_names=[experiment], output_format="list", run_view_type=3)
    frame = mlflow.search_runs(experiment_names=[experiment])  # the pandas view a notebook would use
    out = {"frame_rows": int(len(frame)), "frame_columns": sorted(frame.columns.tolist()), "runs": []}
    for run in runs:
        info, data = run.info, run.data
        history = {}
        for key in data.metrics:
            history[key] = [
                {"value": num(m.value), "step": m.step, "timestamp": m.timestamp}
                for m in client.get_metric_history(info.run_id, key)
            ]
        inputs = []
        for d in (run.inputs.dataset_inputs if run.inputs else []):
            inputs.append({
                "name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
                "source": d.dataset.source, "profile": d.dataset.profile,
                "tags": {t.key: t.value for t in d.tags},
            })
        artifacts = {}
        if client.list_artifacts(info.run_id):
            dst = os.path.join(download_dir, info.run_id)
            os.makedirs(dst, exist_ok=True)
            local = mlflow.artifacts.download_artifacts(run_id=info.run_id, dst_path=dst)
            for root, _dirs, files in os.walk(local):
                for f in files:
                    p = os.path.join(root, f)
                    with open(p, "rb") as fh:
                        blob = fh.read()
                    rel = os.path.relpath(p, local).replace(os.sep, "/")
                    artifacts[rel] = {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
        out["runs"].append({
            "run_id": info.run_id, "run_name": info.run_name, "status": info.status,
            "start_time": info.start_time, "end_time": info.end_time, "lifecycle_stage": info.lifecycle_stage,
            "params": data.params, "metrics": {k: num(v) for k, v in data.metrics.items()},
            "tags": data.tags, "history": history, "inputs": inputs, "artifacts": artifacts,
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
