#!/usr/bin/python3
"""scripts/plot_study.py on a small synthetic study set: every figure of two noise and two nbsmt
jobs is written as PNG and SVG, and the Pareto front keeps exactly the undominated points.

    /usr/bin/python3 tests/scripts/test_plot_study.py   # run by ctest as Scripts.plot_study
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import plot_study  # noqa: E402


def noise_job(name, loss):
    cells = [{"eta": e, "plain_top1": {"mean": 92 - loss * e * 100, "std": 0.1},
              "recalibrated_top1": {"mean": 91.9, "std": 0.05}} for e in (0, 0.05, 0.1)]
    return {"name": name, "experiment": "noise", "steps_done": 3, "noise": cells,
            "quantization": {"fp32": {"top1": 92.0}}}


def nbsmt_job(name):
    settings = [{"label": f"{t}T", "speedup_all": float(t), "plain": {"top1": 91.5 - t / 4},
                 "recalibrated": {"top1": {"mean": 91.7 - t / 8, "std": 0.1}},
                 "vs_a8w8": {"difference": -t / 4, "standard_error": 0.1}} for t in (2, 4)]
    return {"name": name, "experiment": "nbsmt", "steps_done": 2, "settings": settings, "sweep": [],
            "a8w8": {"top1": 91.5}, "fp32": {"top1": 91.6}}


def main():
    front = plot_study.pareto([(1, 90), (2, 91), (2, 89), (3, 88), (4, 88.5), (4, 87)])
    assert front == [(2, 91), (4, 88.5)], front  # (3, 88) loses to (4, 88.5), (1, 90) to (2, 91)
    study = {"jobs": [noise_job("noise:fashion-mnist-a", 0.3), noise_job("noise:fashion-mnist-b", 0.6),
                      nbsmt_job("nbsmt:fashion-mnist-a"), nbsmt_job("nbsmt:fashion-mnist-b")]}
    assert plot_study.short_names(study["jobs"][:2]) == ["a", "b"]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "study.json")
        with open(path, "w") as f:
            json.dump(study, f)
        sys.argv = ["plot_study.py", path, os.path.join(folder, "out")]
        plot_study.main()
        for kind in ("noise", "nbsmt", "models"):
            for ext in ("png", "svg"):
                written = os.path.join(folder, f"out.{kind}.{ext}")
                assert os.path.getsize(written) > 1000, written
        assert not os.path.exists(os.path.join(folder, "out.assign.png"))  # no assign job: no figure
    print("plot_study: ok")


if __name__ == "__main__":
    main()
