#!/usr/bin/python3
"""One Markdown table of every folded-BN run under a directory: for each model and perturbation,
clean, plain and recalibrated accuracy of the unfolded and the folded form, and the pooled paired
difference folded - unfolded after recalibration (every seed and recalibration draw, each test
image's difference averaged over them, images as the unit). Runs with --renorm-epsilon matched or
--renorm-target training say so after the perturbation.

    /usr/bin/python3 scripts/summarize_folded_bn.py results/folded   # DIR/MODEL/folded_bn_*.json
"""
import json
import os
import sys

PERTURBATIONS = [("fp32", "none (fp32)"), ("noise", "noise seed-003, eta0 0.10"), ("sysmt4", "SySMT 4T"),
                 ("a8w8", "A8W8")]


def mean(values):
    return sum(values) / len(values)


def row(model, label, run):
    draws = run["draws"]
    plain_u = mean([d["unfolded"]["plain"]["top1"] for d in draws])
    plain_f = mean([d["folded"]["plain"]["top1"] for d in draws])
    discordant = mean([d["folded_vs_unfolded_plain"]["only_a"] + d["folded_vs_unfolded_plain"]["only_b"] for d in draws])
    recal_u = mean([d["unfolded"]["recalibrated"]["top1"]["mean"] for d in draws])
    recal_f = mean([d["folded"]["recalibrated"]["top1"]["mean"] for d in draws])
    significant = sum(d["folded_vs_unfolded_recalibrated"]["significant_draws"] for d in draws)
    pooled = run["recalibrated_overall"]
    star = " *" if pooled["p_value"] < 0.05 else ""
    clean = f'{run["clean_unfolded"]["top1"]:.2f} / {run["clean_folded"]["top1"]:.2f}'
    renorm = run.get("renorm", {})
    if renorm.get("epsilon") == "matched":
        label += ", matched eps"
    if renorm.get("target") == "training":
        label += ", training target"
    return (f'| {model} | {label} | {run["folded_layers"]} | {clean} | {plain_u:.2f} / {plain_f:.2f} ({discordant:g}) '
            f'| {recal_u:.2f} | {recal_f:.2f} | {pooled["difference"]:+.2f} +- {pooled["standard_error"]:.2f}{star} '
            f'| {significant}/{pooled["pairs"]} |')


def summarize(root):
    lines = ["| model | perturbation | BN folded | clean % unfolded / folded | plain % unfolded / folded "
             "(images that differ, mean per seed) | recalibrated % unfolded | folded + re-normalization | folded - unfolded, "
             "pooled | draws significant |", "|---|---|---|---|---|---|---|---|---|"]
    for model in sorted(os.listdir(root)):
        for key, label in PERTURBATIONS:
            path = os.path.join(root, model, f"folded_bn_{key}.json")
            if os.path.isfile(path):
                with open(path) as f:
                    lines.append(row(model, label, json.load(f)))
    if len(lines) == 2:
        raise SystemExit(f"no DIR/MODEL/folded_bn_*.json under {root}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    if not os.path.isdir(argv[1]):
        print(f"summarize_folded_bn: {argv[1]} is not a directory", file=sys.stderr)
        return 2
    sys.stdout.write(summarize(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
