#!/usr/bin/python3
"""Plots per-BN-layer activation divergence (the analog-noise paper's Fig. 1, extended): for each
JSON written by `bnrecal experiment divergence --json`, one row of two panels: JS divergence at
each BN layer's output without / with recalibration, and the gap between each layer's running
statistics and its input's real moments (variance gap |ln(var_run / var)|) for the original and
the recalibrated statistics. Writes OUT.png and OUT.svg, and prints a Markdown summary: each
quantity averaged over the BN layers.

    /usr/bin/python3 scripts/plot_divergence.py OUT LABEL=study.json [LABEL=study.json ...]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402


def plot(out, studies):
    """studies: [(label, layers)] with the layers list of a divergence result."""
    fig, axes = plt.subplots(len(studies), 2, figsize=(13, 3.2 * len(studies)), squeeze=False)
    w = 0.4
    for row, (label, layers) in zip(axes, studies):
        names = [l["name"] for l in layers]
        xs = range(len(names))
        row[0].bar([x - w / 2 for x in xs], [l["js_plain"] for l in layers], w, label="without recalibration",
                   color="tab:green")
        row[0].bar([x + w / 2 for x in xs], [l["js_recalibrated"] for l in layers], w, label="with recalibration",
                   color="tab:blue")
        row[0].set_ylabel("JS divergence (nats)")
        row[0].set_title(f"{label}: BN output vs clean")
        row[1].bar([x - w / 2 for x in xs], [l["statistics_gap_original"]["variance"] for l in layers], w,
                   label="original statistics", color="tab:green")
        row[1].bar([x + w / 2 for x in xs], [l["statistics_gap_recalibrated"]["variance"] for l in layers], w,
                   label="recalibrated statistics", color="tab:blue")
        row[1].set_ylabel("|ln(var_run / var)|")
        row[1].set_title(f"{label}: running vs real input variance")
        for ax in row:
            ax.set_xticks(list(xs))
            ax.set_xticklabels(names, rotation=90, fontsize=6)
            ax.legend(fontsize=7)
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120)
    plt.close(fig)


def print_summary(studies):
    """Per perturbation: each quantity averaged over the BN layers, and over the layers the perturbation
    reaches (JS without recalibration > 0) how many recalibration brings closer to the clean activations."""
    print("| perturbation | JS plain | JS recal | KL plain | KL recal | mean gap original / recal | "
          "variance gap original / recal | layers reached: JS lower with recal | layers reached: JS plain / recal |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, layers in studies:
        def avg(f, ls=layers):
            return sum(f(l) for l in ls) / len(ls)

        reached = [l for l in layers if l["js_plain"] > 0]
        lower = sum(1 for l in reached if l["js_recalibrated"] < l["js_plain"])
        print(f"| {label} | {avg(lambda l: l['js_plain']):.4f} | {avg(lambda l: l['js_recalibrated']):.4f} | "
              f"{avg(lambda l: l['kl_plain']):.4f} | {avg(lambda l: l['kl_recalibrated']):.4f} | "
              f"{avg(lambda l: l['statistics_gap_original']['mean']):.3f} / "
              f"{avg(lambda l: l['statistics_gap_recalibrated']['mean']):.3f} | "
              f"{avg(lambda l: l['statistics_gap_original']['variance']):.3f} / "
              f"{avg(lambda l: l['statistics_gap_recalibrated']['variance']):.3f} | "
              f"{lower} of {len(reached)} | "
              f"{avg(lambda l: l['js_plain'], reached):.4f} / {avg(lambda l: l['js_recalibrated'], reached):.4f} |")


def main():
    if len(sys.argv) < 3 or any("=" not in a for a in sys.argv[2:]):
        sys.exit(__doc__)
    studies = []
    for arg in sys.argv[2:]:
        label, path = arg.split("=", 1)
        with open(path) as f:
            studies.append((label, json.load(f)["layers"]))
    plot(sys.argv[1], studies)
    print_summary(studies)


if __name__ == "__main__":
    main()
