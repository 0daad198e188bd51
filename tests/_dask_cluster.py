"""Computes on npy stacks with a real dask.distributed LocalCluster (two worker processes).

Usage: python3 _dask_cluster.py JOBS.json
JOBS.json: [{"stack": DIR, "expected": [NPY, ...], "axis": 0}, ...]. For each job the cluster
computes dask.array.from_npy_stack(DIR) (whole, and a reduction) and the result is compared
with np.concatenate of the expected arrays along the axis. Prints one JSON line: the cluster's facts and, per
job, the shape, dtype, whether the values are equal, and which worker processes did work.
A LocalCluster with processes starts its workers by spawning this file again, hence the
__main__ guard.
"""
import json
import os
import sys
import time


def main():
    import numpy as np
    import dask.array as da
    from distributed import Client, LocalCluster

    jobs = json.load(open(sys.argv[1]))
    started = time.time()
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    ) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        startup = time.time() - started
        worker_pids = sorted(client.run(os.getpid).values())
        results = []
        for job in jobs:
            x = da.from_npy_stack(job["stack"])
            expected = np.concatenate([np.load(p) for p in job["expected"]], axis=job.get("axis", 0))
            # np.concatenate may canonicalize a padded record dtype (NumPy 1.24): the dtype to
            # match is the one np.load gives the producers' inputs.
            dtype = np.load(job["expected"][0], mmap_mode="r").dtype
            # Where each chunk is loaded: the pids of the processes that ran the tasks.
            pids = x.map_blocks(
                lambda b: np.full((1,) * b.ndim, os.getpid()), chunks=(1,) * x.ndim, dtype="i8"
            ).compute().ravel().tolist()
            got = x.compute()
            reduction = None
            if expected.dtype.names is None and expected.dtype.kind in "iuf":
                reduction = [float(x.sum().compute()), float(expected.sum())]
            results.append({
                "stack": job["stack"],
                "shape": list(got.shape),
                "dtype": str(got.dtype),
                "expected_shape": list(expected.shape),
                "numblocks": list(x.numblocks),
                "equal": bool(got.dtype == dtype and np.array_equal(got, expected)),
                "meta_equal": bool(x.dtype == dtype),
                "reduction": reduction,
                "task_pids": sorted(set(pids)),
            })
        print(json.dumps({
            "workers": len(client.scheduler_info()["workers"]),
            "worker_pids": worker_pids,
            "client_pid": os.getpid(),
            "startup_seconds": startup,
            "results": results,
        }))


if __name__ == "__main__":
    main()
