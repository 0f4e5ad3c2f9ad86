"""Top-1 accuracy of a model on labelled batches, scored as ``bnrecal eval`` scores it (the first of
the top-k indices, so ties break as the library's), with the per-image outcomes kept for paired
comparisons::

    result = bnrecal.evaluate(model, bnrecal.data.ImageStream("fashion-mnist", "test", limit=1000))
    result["top1"], result["correct"]   # percent, and one bool per image
"""
import math

import torch


def evaluate(model, batches):
    """{"n", "top1" (percent), "top1_stderr", "correct" (list of bool)} in eval mode, no grad."""
    was_training = model.training
    correct = []
    try:
        model.eval()
        with torch.no_grad():
            for images, labels in batches:
                logits = model(images)
                k = min(5, logits.size(1))
                top = logits.topk(k, dim=1)[1]
                correct.extend((top[:, 0] == labels.to(torch.long)).tolist())
    finally:
        model.train(was_training)
    n = len(correct)
    top1 = 100.0 * sum(correct) / n if n else 0.0  # the library's order of operations: equal doubles
    p = top1 / 100.0
    return {"n": n, "top1": top1, "top1_stderr": 100.0 * math.sqrt(p * (1.0 - p) / n) if n else 0.0,
            "correct": correct}
