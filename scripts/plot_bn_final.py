#!/usr/bin/python3
"""Plots the BN-final study's test accuracy over training (the paper's Fig. 3): one panel per
dataset x architecture x setting, BN-pop and BN-final runs over epochs. Reads the JSON that
`bnrecal experiment bn-final --json` writes; writes OUT.png and OUT.svg.

    /usr/bin/python3 scripts/plot_bn_final.py results/bn_final.json docs/bn_final_curves [SETTING ...]
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    study = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    wanted = sys.argv[3:]
    runs = study["runs"]
    panels = []
    for r in runs:
        key = (r["dataset"], r["arch"], r["setting"])
        if key not in panels and (not wanted or r["setting"] in wanted):
            panels.append(key)
    if not panels:
        sys.exit("no runs to plot")
    cols = min(4, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    colors = {"pop": "tab:blue", "final": "tab:red"}
    for ax, (dataset, arch, setting) in zip(axes.flat, panels):
        for r in runs:
            if (r["dataset"], r["arch"], r["setting"]) != (dataset, arch, setting):
                continue
            xs = [e["epoch"] for e in r["series"]]
            ys = [e["top1"] for e in r["series"]]
            label = f"BN-{r['bn']}" if r["seed"] == study["study"]["base_seed"] else None
            ax.plot(xs, ys, color=colors[r["bn"]], alpha=0.8, marker=".", label=label)
        ax.set_title(f"{dataset}, {arch}\n{setting}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test top-1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120)
    print(f"wrote {out}.png and {out}.svg")


if __name__ == "__main__":
    main()
