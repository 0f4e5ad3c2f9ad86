"""A model that is not in the zoo, written here as a user would, trained briefly on Fashion-MNIST,
runs under SySMT through the package and recalibrates; the arithmetic keeps the library's
properties (1 thread = a8w8 bit for bit; restore gives the fp32 model back)."""
import torch

import bnrecal


class UserNet(torch.nn.Module):
    """Conv-BN-ReLU stem, a depthwise-separable block, a residual conv, linear head."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1, bias=False), torch.nn.BatchNorm2d(16),
                                        torch.nn.ReLU())
        self.depthwise = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False)
        self.bn_dw = torch.nn.BatchNorm2d(16)
        self.pointwise = torch.nn.Conv2d(16, 32, 1, bias=False)
        self.bn_pw = torch.nn.BatchNorm2d(32)
        self.residual = torch.nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn_res = torch.nn.BatchNorm2d(32)
        self.head = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.bn_dw(self.depthwise(x)))
        x = torch.relu(self.bn_pw(self.pointwise(x)))
        x = torch.relu(x + self.bn_res(self.residual(x)))
        return self.head(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1))


def trained_user_net():
    torch.manual_seed(0)
    model = UserNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for images, labels in bnrecal.data.sample(images=8192, batch_size=64, seed=0):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model.eval()


def test_user_model_runs_under_sysmt_and_recalibrates():
    model = trained_user_net()
    test = bnrecal.data.ImageStream(batch_size=250, limit=1000)
    fp32 = bnrecal.evaluate(model, test)
    assert fp32["top1"] > 50, fp32["top1"]  # 128 steps: well past chance (65.5 % measured), not converged
    names = list(model.state_dict())

    calibration = bnrecal.calibrate(model, bnrecal.data.sample(images=512, batch_size=128, seed=1))
    assert set(calibration["layers"]) == {"stem.0", "depthwise", "pointwise", "residual", "head"}

    images = next(iter(test))[0][:16]
    bnrecal.apply(model, "sysmt smt=1", calibration=calibration)
    one_thread = model(images)
    bnrecal.apply(model, "a8w8", calibration=calibration)
    assert torch.equal(model(images), one_thread)

    bnrecal.apply(model, "sysmt smt=4", calibration=calibration)
    assert list(model.state_dict()) == names
    kinds = {name: module.policy for name, module in bnrecal.arith_layers(model)}
    # As the CLI: the first conv, depthwise convs and linear layers stay exact.
    assert kinds == {"stem.0": "fp32", "depthwise": "fp32", "pointwise": "sysmt", "residual": "sysmt", "head": "fp32"}

    assert bnrecal.collect_diagnostics(model) == ["pointwise", "residual"]
    plain = bnrecal.evaluate(model, test)
    diagnostics = bnrecal.diagnostics(model)
    for name in ("pointwise", "residual"):
        d = diagnostics[name]["diagnostics"]
        assert 0 < d["collision_rate"] < 1 and d["mse_vs_exact"] > 0 and d["outputs"] > 0
    bnrecal.collect_diagnostics(model, on=False)

    undo = bnrecal.BnSnapshot(model)
    before = {n: t.clone() for n, t in model.state_dict().items()}
    report = bnrecal.recalibrate(model, bnrecal.data.sample(images=1024, batch_size=256, seed=2))
    assert report["bn_layers"] == ["stem.1", "bn_dw", "bn_pw", "bn_res"] and report["images"] == 1024
    after = model.state_dict()
    # Statistics moved (the first BN sees the exact first conv: only the downstream ones must move).
    assert not torch.equal(after["bn_res.running_var"], before["bn_res.running_var"])
    assert all(torch.isfinite(t).all() for t in after.values())
    assert all(torch.equal(after[n], before[n]) for n in names if not n.endswith(("running_mean", "running_var", "num_batches_tracked")))
    recalibrated = bnrecal.evaluate(model, test)
    print(f"user model: fp32 {fp32['top1']:.1f} %, sysmt 4T {plain['top1']:.1f} %, recalibrated {recalibrated['top1']:.1f} %")

    undo.restore(model)
    assert all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
    bnrecal.restore(model)
    assert all(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for _, m in bnrecal.arith_layers(model))
    assert bnrecal.evaluate(model, test)["correct"] == fp32["correct"]


def test_noise_draws_follow_the_seed():
    model = trained_user_net()
    bnrecal.apply(model, "fp32 noise=seed-003 eta=0.1", seed=3)
    first = model.get_submodule("residual").noisy_weight()
    bnrecal.apply(model, "fp32 noise=seed-003 eta=0.1", seed=3)
    assert torch.equal(model.get_submodule("residual").noisy_weight(), first)
    bnrecal.apply(model, "fp32 noise=seed-003 eta=0.1", seed=4)
    assert not torch.equal(model.get_submodule("residual").noisy_weight(), first)
    weight = model.get_submodule("residual").weight
    relative = ((first - weight) / weight).std().item()
    assert 0.01 < relative < 0.5  # eta 0.1 with the preset's temporal and spatial levels
