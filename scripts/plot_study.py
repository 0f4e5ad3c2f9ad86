#!/usr/bin/python3
"""Plots a study set's results (the study.json that `bnrecal study` writes):

  OUT.noise.{png,svg}       top-1 vs noise level eta0, one panel per noise job: without and with
                            BN recalibration (error bars: std over noise seeds, and over seeds x
                            recalibration draws), the model's clean accuracy as a dashed line.
  OUT.nbsmt.{png,svg}       top-1 vs NB-SMT speedup, one panel per nbsmt job: the uniform settings
                            (2T, 4T) and the sweep's mixed settings, without and with recalibration
                            (error bars: std over draws), A8W8 at speedup 1, and the Pareto front
                            of the recalibrated points (the best accuracy at each speedup or more).
  OUT.assign.{png,svg}      top-1 on the test split vs speedup, one panel per thread-assignment job:
                            the greedy path's evaluated points (chosen on validation) and the MSE
                            sweep's point nearest in speedup to each, with recalibration, the chosen
                            point starred.
  OUT.models.{png,svg}      the models side by side (with at least two noise or nbsmt jobs): top-1 lost
                            to the noise against the clean model vs eta0, without (solid) and with
                            (dashed) recalibration; and top-1 against A8W8 at 2T and 4T, without and
                            with recalibration (error bars: the paired standard error, and the std
                            over recalibration draws).
  OUT.divergence.{png,svg}  per-BN-layer divergence bars for every divergence step
                            (plot_divergence.py's figure), and its summary table on stdout.

A figure is skipped when the study has no job of its kind. Instead of a study set, the JSON of one
study command (`bnrecal experiment noise|nbsmt|assign|divergence --json`) is read as a set of one
job, named after its model.

    /usr/bin/python3 scripts/plot_study.py STUDY.json OUT
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_divergence  # noqa: E402


def panels(count):
    cols = min(count, 3)
    rows = (count + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def label_panel(ax, title, xlabel, ylabel):
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def save(fig, out):
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120)
    plt.close(fig)
    print(f"wrote {out}.png and {out}.svg")


def plot_noise(jobs, out):
    fig, axes = panels(len(jobs))
    for ax, job in zip(axes, jobs):
        cells = job["noise"]
        etas = [c["eta"] for c in cells]
        for key, label, color, shift in (("plain_top1", "without recalibration", "tab:green", -0.0006),
                                         ("recalibrated_top1", "with recalibration", "tab:blue", 0.0006)):
            ax.errorbar([e + shift for e in etas], [c[key]["mean"] for c in cells], yerr=[c[key]["std"] for c in cells],
                        marker="o", ms=4, capsize=3, label=label, color=color)
        clean = job.get("quantization", {}).get("fp32")
        if clean:
            ax.axhline(clean["top1"], ls="--", color="gray", lw=1, label="no noise")
        label_panel(ax, job["name"], "eta0", "top-1 (%)")
    save(fig, out)


def pareto(points):
    """The points no other point beats on both speedup and accuracy, by speedup."""
    front = []
    for s, a in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not front or a > front[-1][1]:
            front.append((s, a))
    return sorted(front)


def plot_nbsmt(jobs, out):
    fig, axes = panels(len(jobs))
    for ax, job in zip(axes, jobs):
        settings = job["settings"] + job["sweep"]
        speed = [s["speedup_all"] for s in settings]
        ax.plot(speed, [s["plain"]["top1"] for s in settings], "o", mfc="none", color="tab:green",
                label="without recalibration")
        ax.errorbar(speed, [s["recalibrated"]["top1"]["mean"] for s in settings],
                    yerr=[s["recalibrated"]["top1"]["std"] for s in settings], fmt="o", ms=4, capsize=3,
                    color="tab:blue", label="with recalibration")
        front = pareto([(s["speedup_all"], s["recalibrated"]["top1"]["mean"]) for s in settings])
        ax.plot([p[0] for p in front], [p[1] for p in front], "-", color="tab:blue", lw=1, alpha=0.6,
                label="Pareto front (recalibrated)")
        for s in job["settings"]:
            ax.annotate(s["label"], (s["speedup_all"], s["plain"]["top1"]), fontsize=7, xytext=(4, -8),
                        textcoords="offset points")
        ax.plot([1], [job["a8w8"]["top1"]], "s", color="black", label="A8W8")
        ax.axhline(job["fp32"]["top1"], ls="--", color="gray", lw=1, label="FP32")
        label_panel(ax, job["name"], "speedup over A8W8 (all layers)", "top-1 (%)")
    save(fig, out)


def plot_assign(jobs, out):
    fig, axes = panels(len(jobs))
    for ax, job in zip(axes, jobs):
        a = job["assignment"]
        for key, label, style in (("path", "greedy path (validation-chosen)", "o-"),
                                  ("mse_sweep", "MSE-ordered sweep", "s--")):
            pts = a[key]
            ax.errorbar([p["speedup_all"] for p in pts], [p["recalibrated"]["top1"]["mean"] for p in pts],
                        yerr=[p["recalibrated"]["top1"]["std"] for p in pts], fmt=style, ms=4, capsize=3, label=label)
        if a["chosen"] >= 0:
            c = a["path"][a["chosen"]]
            ax.plot([c["speedup_all"]], [c["recalibrated"]["top1"]["mean"]], "*", ms=14, color="gold",
                    mec="black", label="chosen")
        ax.plot([1], [a["a8w8"]["top1"]], "s", color="black", label="A8W8")
        label_panel(ax, job["name"], "speedup over A8W8 (all layers)", "test top-1 with recalibration (%)")
    save(fig, out)


def short_names(jobs):
    """Job names without the experiment and the prefix they all share ("fashion-mnist-")."""
    names = [j["name"].split(":")[-1] for j in jobs]
    prefix = os.path.commonprefix(names)
    prefix = prefix[: prefix.rfind("-") + 1]
    return [n[len(prefix):] for n in names]


def plot_models(noise, nbsmt, out):
    fig, axes = panels(int(len(noise) >= 2) + int(len(nbsmt) >= 2))
    axes = list(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(noise) >= 2:
        ax = axes.pop(0)
        for color, job, name in zip(colors * 3, noise, short_names(noise)):
            clean = job.get("quantization", {}).get("fp32", {}).get("top1")
            if clean is None:
                continue
            cells = job["noise"]
            etas = [c["eta"] for c in cells]
            ax.plot(etas, [clean - c["plain_top1"]["mean"] for c in cells], "o-", ms=3, color=color, label=name)
            ax.plot(etas, [clean - c["recalibrated_top1"]["mean"] for c in cells], "o--", ms=3, color=color,
                    alpha=0.7)
        ax.set_yscale("symlog", linthresh=1)
        label_panel(ax, "noise: top-1 lost (solid: plain, dashed: recalibrated)", "eta0", "points below no noise")
    if len(nbsmt) >= 2:
        ax = axes.pop(0)
        width = 0.8 / 4
        names = short_names(nbsmt)
        for i, job in enumerate(nbsmt):
            bars = []
            for s in job["settings"]:
                recal = s["recalibrated"]["top1"]
                bars.append((f"{s['label']} plain", s["vs_a8w8"]["difference"], s["vs_a8w8"]["standard_error"]))
                bars.append((f"{s['label']} recalibrated", recal["mean"] - job["a8w8"]["top1"], recal["std"]))
            for k, (label, value, error) in enumerate(bars):
                ax.bar(i + (k - 1.5) * width, value, width, yerr=error, capsize=2, color=colors[k % len(colors)],
                       label=label if i == 0 else None)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=20, ha="right", fontsize=7)
        label_panel(ax, "NB-SMT: top-1 against A8W8", "", "points")
    save(fig, out)


def as_study_set(result):
    """A single study command's JSON as a study set of one job."""
    if "jobs" in result:
        return result
    model = result.get("config", {}).get("model", "model").split("/")[-1]
    model = model.replace(".safetensors", "").replace(".calibrated", "")
    job = dict(result, name=model, steps_done=1)
    if "mse_sweep" in result:
        job.update(experiment="assign", assignment=result)
    elif "noise" in result:
        job["experiment"] = "noise"
    elif "settings" in result:
        job["experiment"] = "nbsmt"
    else:
        spec = result.get("config", {}).get("perturbed", {})
        perturbation = spec.get("policy", "perturbed")
        if spec.get("noise"):
            perturbation += f" noise eta0={spec['noise'].get('eta', '?')}"
        elif "smt" in spec.get("params", {}):
            perturbation += f" smt={spec['params']['smt']}"
        job.update(experiment="divergence", divergences=[{"perturbation": perturbation, "result": result}])
    return {"jobs": [job]}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        study = as_study_set(json.load(f))
    out = sys.argv[2]
    jobs = [j for j in study["jobs"] if j.get("steps_done", 0) > 0]
    noise = [j for j in jobs if j["experiment"] == "noise" and j["noise"]]
    nbsmt = [j for j in jobs if j["experiment"] == "nbsmt" and "fp32" in j]
    assign = [j for j in jobs if j["experiment"] == "assign" and "assignment" in j]
    divergence = [(f"{j['name']}, {d['perturbation']}", d["result"]["layers"])
                  for j in jobs if j["experiment"] == "divergence" for d in j["divergences"]]
    if noise:
        plot_noise(noise, out + ".noise")
    if nbsmt:
        plot_nbsmt(nbsmt, out + ".nbsmt")
    if assign:
        plot_assign(assign, out + ".assign")
    fixed = [j for j in nbsmt if j["settings"]]  # a sweep-only job has no fixed-T settings to put beside the others
    if len(noise) >= 2 or len(fixed) >= 2:
        plot_models(noise, fixed, out + ".models")
    if divergence:
        plot_divergence.plot(out + ".divergence", divergence)
        print(f"wrote {out}.divergence.png and {out}.divergence.svg")
        plot_divergence.print_summary(divergence)


if __name__ == "__main__":
    main()
