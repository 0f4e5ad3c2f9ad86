#!/usr/bin/python3
"""scripts/summarize_folded_bn.py on two synthetic runs: the means over seeds (the discordant
count too), the pooled difference and its star, the re-normalization options' marks, and a refusal of a
directory without runs.

    /usr/bin/python3 tests/scripts/test_summarize_folded_bn.py   # run by ctest as Scripts.summarize_folded_bn
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import summarize_folded_bn  # noqa: E402


def draw(plain_u, plain_f, discordant, recal_u, recal_f, significant):
    return {"unfolded": {"plain": {"top1": plain_u}, "recalibrated": {"top1": {"mean": recal_u}}},
            "folded": {"plain": {"top1": plain_f}, "recalibrated": {"top1": {"mean": recal_f}}},
            "folded_vs_unfolded_plain": {"only_a": discordant, "only_b": 0},
            "folded_vs_unfolded_recalibrated": {"significant_draws": significant}}


def run(p_value, renorm):
    return {"renorm": renorm, "folded_layers": 21, "clean_unfolded": {"top1": 92.12}, "clean_folded": {"top1": 92.12},
            "draws": [draw(82.0, 82.0, 0, 91.9, 91.8, 0), draw(81.0, 80.0, 3, 92.1, 92.0, 1)],
            "recalibrated_overall": {"pairs": 6, "difference": -0.1, "standard_error": 0.04, "p_value": p_value}}


def main():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "resnet20"))
        for key, p, renorm in (("noise", 0.01, {"epsilon": "fixed", "target": "measured"}),
                               ("a8w8", 0.5, {"epsilon": "matched", "target": "training"})):
            with open(os.path.join(root, "resnet20", f"folded_bn_{key}.json"), "w") as f:
                json.dump(run(p, renorm), f)
        table = summarize_folded_bn.summarize(root).splitlines()
        assert len(table) == 4, table
        noise, a8w8 = table[2], table[3]  # the perturbations' order, not the files'
        assert "| noise seed-003, eta0 0.10 |" in noise and "| A8W8, matched eps, training target |" in a8w8, table
        assert "| 92.12 / 92.12 | 81.50 / 81.00 (1.5) | 92.00 | 91.90 | -0.10 +- 0.04 * | 1/6 |" in noise, noise
        assert "-0.10 +- 0.04 |" in a8w8, a8w8  # p 0.5: no star
        empty = os.path.join(root, "empty")
        os.makedirs(empty)
        try:
            summarize_folded_bn.summarize(empty)
            raise AssertionError("a directory without runs was accepted")
        except SystemExit as e:
            assert "no DIR/MODEL/folded_bn_*.json" in str(e.code), e.code
    assert summarize_folded_bn.main(["summarize_folded_bn.py", "/nonexistent"]) == 2
    print("ok")


if __name__ == "__main__":
    main()
