"""Post-training BatchNorm recalibration of any ``torch.nn.Module``, the estimators of
``bnrecal recalibrate``: re-estimate every (selected) BatchNorm2d's running mean and variance on
unlabeled images with the model's current arithmetic; gamma and beta are never touched::

    undo = bnrecal.BnSnapshot(model)
    report = bnrecal.recalibrate(model, bnrecal.data.sample("fashion-mnist", images=2048),
                                 estimator="pooled")
    ...
    undo.restore(model)

Estimators (the variance stored is the unbiased one, as PyTorch stores it):
  ema         r = (1-m) r + m b from the current statistics (PyTorch momentum m)
  ema-reset   the same from mean 0 / var 1
  cumulative  equal-weight average of the per-batch statistics
  final       the last batch's statistics only ("BN-final")
  pooled      exact population statistics over every value, independent of batch size and order
sequential=True recalibrates one BN layer per pass, in network order.

The batch statistics, the running update and the pooled combination are the library's own (the
BatchNorm forward of the selected layers runs in C++ during the passes), so on the same batches
the statistics equal the CLI's bit for bit.
"""
import time
import types

import torch

from . import _ops
from .data import ImageStream, images_of

ESTIMATORS = ("ema", "ema-reset", "cumulative", "final", "pooled")


def bn_layers(model):
    """``(name, module)`` of every BatchNorm2d with running statistics, in network order."""
    return [(name, m) for name, m in model.named_modules()
            if name and isinstance(m, torch.nn.BatchNorm2d) and m.track_running_stats]


class BnSnapshot:
    """A bit-exact copy of every BN layer's running statistics and momentum, to undo a recalibration."""

    def __init__(self, model):
        self._entries = [(name, m.running_mean.detach().clone(), m.running_var.detach().clone(),
                          m.num_batches_tracked.detach().clone(), m.momentum) for name, m in bn_layers(model)]

    def restore(self, model):
        layers = bn_layers(model)
        if [name for name, _ in layers] != [e[0] for e in self._entries]:
            raise ValueError("BnSnapshot restored into a different model")
        with torch.no_grad():
            for (_, m), (_, mean, var, batches, momentum) in zip(layers, self._entries):
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(batches)
                m.momentum = momentum


def _batch_momentum(estimator, momentum, t):
    if estimator in ("ema", "ema-reset"):
        return momentum
    if estimator == "cumulative":
        return 1.0 / (t + 1)
    return 1.0  # final; pooled overwrites the statistics at the end


def _library_forward(bn, moments):
    """A BatchNorm2d forward through the library's training-mode computation."""
    def forward(self, x):
        output, count, mean, m2 = _ops.call(
            _ops.ops.batch_norm_train, x, self.weight, self.bias, self.running_mean, self.running_var,
            self.num_batches_tracked, float(self._bnrecal_momentum), float(self.eps))
        moments.append((count, mean, m2))
        return output
    return types.MethodType(forward, bn)


def _run_pass(model, batches, group, estimator, momentum, progress, done, total):
    if estimator != "ema":
        for _, bn in group:
            bn.reset_running_stats()
    moments = [[] for _ in group]
    for (_, bn), recorded in zip(group, moments):
        bn.forward = _library_forward(bn, recorded)
    t = images = 0
    try:
        for batch in batches:
            x = images_of(batch)
            for _, bn in group:
                bn._bnrecal_momentum = _batch_momentum(estimator, momentum, t)
            model(x)
            t += 1
            images += x.size(0)
            if progress:
                progress(done + images, total)
    finally:
        for _, bn in group:
            del bn.forward
            bn.__dict__.pop("_bnrecal_momentum", None)
    if t == 0:
        raise _ops.InputError("recalibration stream has no images")
    if estimator == "pooled":
        for (name, bn), recorded in zip(group, moments):
            if not recorded:
                raise _ops.InputError(f"BN layer '{name}' was not reached by forward")
            mean, var = _ops.call(_ops.ops.pooled_statistics, [c for c, _, _ in recorded],
                                  [m for _, m, _ in recorded], [v for _, _, v in recorded])
            bn.running_mean.copy_(mean.to(torch.float32))
            bn.running_var.copy_(var.to(torch.float32))
            bn.num_batches_tracked.fill_(t)
    return t, images


def recalibrate(model, batches, estimator="pooled", momentum=0.1, layers=None, sequential=False,
                progress=None):
    """Recalibrates the BN statistics of `model` on `batches` (re-iterable when sequential: one pass
    per layer); returns a report like ``bnrecal recalibrate --json``'s. layers: BN name patterns
    (exact or glob), default every BN layer. progress(images done, images total) after each batch.
    On error the statistics are put back and InputError (the CLI's message) is raised."""
    all_layers = bn_layers(model)
    names = [name for name, _ in all_layers]
    passes = _ops.call(_ops.ops.recalibration_passes, names, estimator, float(momentum), list(layers or []),
                       bool(sequential))
    groups = [[all_layers[i] for i in p] for p in passes]
    snapshot = BnSnapshot(model)
    momenta = [bn.momentum for _, bn in all_layers]
    was_training = model.training
    total = len(batches) * len(groups) if isinstance(batches, ImageStream) else None  # images, when known
    start = time.monotonic()
    done = 0
    try:
        with torch.no_grad():
            for group in groups:
                model.eval()  # dropout and every other BN layer: inference behaviour
                for _, bn in group:
                    bn.train()
                count, images = _run_pass(model, batches, group, estimator, momentum, progress, done, total)
                done += images
    except BaseException:
        snapshot.restore(model)
        model.train(was_training)
        raise
    for (_, bn), m in zip(all_layers, momenta):
        bn.momentum = m
    model.train(was_training)
    report = {"estimator": estimator, "layers": list(layers or ["*"]), "sequential": bool(sequential),
              "bn_layers": [name for group in groups for name, _ in group], "images": images,
              "batches": count, "passes": len(groups), "seconds": time.monotonic() - start}
    if estimator in ("ema", "ema-reset"):
        report.update({"momentum_pytorch": momentum, "decay_tensorflow": 1.0 - momentum})
    return report
