"""bnrecal's model zoo in plain PyTorch.

The C++ library (src/models/) defines every architecture a bnrecal checkpoint can hold. This
module rebuilds the same architectures with torch.nn so that a checkpoint's tensors load by name
(``load_state_dict(..., strict=True)``) and ``forward`` computes the same function as the C++
network in eval mode. Each class below follows its C++ counterpart line by line:

* module names, and the order in which modules are registered, are the C++ ones, so the state
  dict keys agree and "the first conv" means the same layer on both sides;
* every conv is a bias-free ``nn.Conv2d`` (a BatchNorm follows each one) except the last 1x1
  conv of a dense head (FCN's classes, YOLO's predictions), which has a bias; every classifier an
  ``nn.Linear`` with bias, every norm an ``nn.BatchNorm2d`` (momentum 0.1; eps 1e-5, or 1e-3 in
  the TensorFlow-derived GoogLeNet blocks and MobileNet-v1);
* only Conv2d, Linear, BatchNorm2d, pooling/dropout/activation modules and torch.nn.functional
  are used, and forwards look their layers up by name at call time, so a caller can replace a
  Conv2d or Linear by name (``setattr`` on its parent) and the replacement is what runs;
* nothing works in place, so a forward hook that keeps a layer's output sees it unchanged.

The ImageNet-sized models the C++ zoo documents as torchvision 0.14 compatible (resnet18..101,
wide_resnet50_2, googlenet, densenet121, mobilenet_v2) are written out here too rather than
taken from torchvision: the package then needs only torch, and the block code is shared with
the small-image variants. python/tests/check_zoo_names.py compares them with torchvision.

    from bnrecal import zoo
    net = zoo.build("resnet20", num_classes=10, in_channels=1)   # eval mode
    net.load_state_dict(tensors, strict=True)
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "names",
    "family",
    "default_input",
    "build",
    "ResNet",
    "GoogLeNet",
    "InceptionSmall",
    "DenseNet",
    "MobileNetV1",
    "MobileNetV2",
    "VggSmall",
    "Fcn",
    "YoloSmall",
]


# ---------------------------------------------------------------------------------------------
# Layer constructors (src/models/layer_factories.h)
# ---------------------------------------------------------------------------------------------


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, groups: int = 1) -> nn.Conv2d:
    # ArithConv2d defaults to no bias: every zoo conv is followed by a BatchNorm.
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)


def _bn(channels: int, eps: float = 1e-5) -> nn.BatchNorm2d:
    # torch::nn::BatchNormOptions defaults: momentum 0.1, affine, tracked running statistics.
    return nn.BatchNorm2d(channels, eps=eps, momentum=0.1)


def _gap(x: torch.Tensor) -> torch.Tensor:
    """Global average pool to [N, C] (adaptive_avg_pool2d to 1x1, then flatten(1))."""
    return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)


# ---------------------------------------------------------------------------------------------
# ResNet (src/models/resnet.cpp): small-image stem or torchvision's ImageNet stem
# ---------------------------------------------------------------------------------------------


def _shortcut(cin: int, cout: int, stride: int) -> Optional[nn.Sequential]:
    # Projection shortcut ("option B") only where the shape changes; registered after the branch,
    # as in torchvision, so "downsample.0" comes after the block's own convs.
    if stride != 1 or cin != cout:
        return nn.Sequential(_conv(cin, cout, 1, stride, 0), _bn(cout))
    return None


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = _conv(cin, planes, 3, stride, 1)
        self.bn1 = _bn(planes)
        self.conv2 = _conv(planes, planes, 3, 1, 1)
        self.bn2 = _bn(planes)
        self.downsample = _shortcut(cin, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(branch + shortcut)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, width_per_group: int, dilation: int = 1) -> None:
        super().__init__()
        width = planes * width_per_group // 64
        cout = planes * self.expansion
        self.conv1 = _conv(cin, width, 1, 1, 0)
        self.bn1 = _bn(width)
        # Stride in the 3x3 conv ("ResNet v1.5", torchvision's choice).
        self.conv2 = nn.Conv2d(width, width, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn2 = _bn(width)
        self.conv3 = _conv(width, cout, 1, 1, 0)
        self.bn3 = _bn(cout)
        self.downsample = _shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        branch = self.bn3(self.conv3(branch))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(branch + shortcut)


class ResNet(nn.Module):
    """conv1, bn1, [max-pool], layer1..layerK, global average pool, fc.

    ``imagenet_stem``: 7x7 stride-2 conv and 3x3 stride-2 max-pool (torchvision); otherwise a
    3x3 stride-1 conv without pooling (He et al.'s CIFAR networks). The stem width is the first
    stage's width.
    """

    def __init__(
        self,
        bottleneck: bool,
        imagenet_stem: bool,
        blocks_per_stage: Sequence[int],
        stage_planes: Sequence[int],
        num_classes: int = 10,
        in_channels: int = 3,
        width_per_group: int = 64,
        dilate: Sequence[bool] = (),
        classifier: bool = True,
    ) -> None:
        super().__init__()
        stem = stage_planes[0]
        self.conv1 = _conv(in_channels, stem, 7, 2, 3) if imagenet_stem else _conv(in_channels, stem, 3, 1, 1)
        self.bn1 = _bn(stem)
        # The C++ max-pool is a plain member, not a registered module; it has no state either way.
        self._max_pool = imagenet_stem
        expansion = _Bottleneck.expansion if bottleneck else _BasicBlock.expansion
        cin = stem
        self._num_stages = len(blocks_per_stage)
        dilation = 1
        # Output stride of the last stage's map (yolo.cpp's backbone_stride): the stem's, then 2 per
        # later stage that is not dilated. A plain attribute, not state.
        self.out_stride = 4 if imagenet_stem else 1
        for s, (blocks, planes) in enumerate(zip(blocks_per_stage, stage_planes)):
            stage = nn.Sequential()
            # torchvision's replace_stride_with_dilation: the first block keeps the previous dilation.
            first_dilation, stride = dilation, 2 if s > 0 else 1
            if s > 0 and s - 1 < len(dilate) and dilate[s - 1]:
                dilation, stride = dilation * stride, 1
            self.out_stride *= stride
            for b in range(blocks):
                if bottleneck:
                    stage.append(_Bottleneck(cin, planes, stride if b == 0 else 1, width_per_group,
                                             first_dilation if b == 0 else dilation))
                else:
                    stage.append(_BasicBlock(cin, planes, stride if b == 0 else 1))
                cin = planes * expansion
            self.add_module(f"layer{s + 1}", stage)
        self.out_channels = cin
        self.fc = nn.Linear(cin, num_classes) if classifier else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        if self._max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for s in range(self._num_stages):
            x = getattr(self, f"layer{s + 1}")(x)
        return self.fc(_gap(x)) if self.fc is not None else x


# ---------------------------------------------------------------------------------------------
# FCN (src/models/fcn.cpp): a ResNet backbone without pooling and fc, torchvision's FCNHead, the
# class scores upsampled to the input's size; torchvision's training-only aux head is left out
# ---------------------------------------------------------------------------------------------


def _fcn_head(cin: int, classes: int) -> nn.Sequential:
    inner = cin // 4
    return nn.Sequential(_conv(cin, inner, 3, 1, 1), _bn(inner), nn.ReLU(), nn.Dropout(0.1),
                         nn.Conv2d(inner, classes, 1))  # fmt: skip


class Fcn(nn.Module):
    def __init__(self, backbone: ResNet, num_classes: int, aux_head: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = _fcn_head(backbone.out_channels, num_classes)
        self.aux_classifier = _fcn_head(backbone.out_channels // 2, num_classes) if aux_head else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.classifier(self.backbone(x))
        return F.interpolate(scores, size=x.shape[-2:], mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------
# yolo_small (src/models/yolo.cpp): ResNet-20's stages plus a strided 4th stage (output stride 8),
# a BN head and a 1x1 prediction conv; per grid cell [objectness, tx, ty, tw, th, C class logits]
# (models/yolo_box_coding.h). Turning the raw map into boxes is not the model's job here either.
# ---------------------------------------------------------------------------------------------

_YOLO_OBJECTNESS_PRIOR = 0.01  # kYoloObjectnessPrior
_YOLO_BOX_CHANNELS = 5  # yolo::kFirstClassChannel: objectness, tx, ty, tw, th


class _YoloHead(nn.Module):
    """conv1, bn1, ..., convN, bnN (3x3, BN, ReLU at ``width``), then predict (1x1 conv, with bias)."""

    def __init__(self, cin: int, width: int, convs: int, outputs: int) -> None:
        super().__init__()
        self._convs = convs
        for c in range(1, convs + 1):
            self.add_module(f"conv{c}", _conv(cin, width, 3, 1, 1))
            self.add_module(f"bn{c}", _bn(width))
            cin = width
        # The only biased conv: no BN follows it. Weights come from checkpoints; this start is the
        # C++ one, so a freshly built model also predicts "object" with probability about 0.01.
        self.predict = nn.Conv2d(cin, outputs, 1, bias=True)
        with torch.no_grad():
            self.predict.weight.normal_(0.0, 0.01)
            self.predict.bias.zero_()
            self.predict.bias[0] = -math.log((1.0 - _YOLO_OBJECTNESS_PRIOR) / _YOLO_OBJECTNESS_PRIOR)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in range(1, self._convs + 1):
            x = F.relu(getattr(self, f"bn{c}")(getattr(self, f"conv{c}")(x)))
        return self.predict(x)


class YoloSmall(nn.Module):
    """backbone (a ResNet without pooling and fc), head; forward gives the raw map
    [B, 5 + C, H / stride, W / stride], stride 8 for the zoo entry."""

    def __init__(
        self,
        backbone: ResNet,
        num_classes: int,
        head_width: int = 64,
        head_convs: int = 2,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError("YoloSmall: num_classes must be at least 1")
        self.stride = backbone.out_stride
        self.num_classes = num_classes
        self.backbone = backbone
        self.head = _YoloHead(backbone.out_channels, head_width, head_convs, _YOLO_BOX_CHANNELS + num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # As the C++: otherwise the padded convs round the grid up and cell (i, j) no longer covers
        # pixels [i * stride, (i + 1) * stride), which decoding assumes.
        if x.dim() != 4 or x.size(2) % self.stride or x.size(3) % self.stride:
            raise ValueError(f"YoloSmall: input must be [B, C, H, W] with H and W multiples of {self.stride}, "
                             f"got {list(x.shape)}")  # fmt: skip
        return self.head(self.backbone(x))


# ---------------------------------------------------------------------------------------------
# GoogLeNet blocks (src/models/inception_blocks.h), GoogLeNet (googlenet.cpp) and
# inception_small (inception_small.cpp)
# ---------------------------------------------------------------------------------------------


class _BasicConv2d(nn.Module):
    """conv (no bias) -> bn (eps 1e-3, the TensorFlow original's) -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv = _conv(cin, cout, kernel, stride, padding)
        self.bn = _bn(cout, 1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class _InceptionWidths(NamedTuple):
    # torchvision's Inception(...) argument order after in_channels.
    ch1x1: int
    ch3x3red: int
    ch3x3: int
    ch5x5red: int
    ch5x5: int
    pool_proj: int

    def out(self) -> int:
        return self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj


class _Inception(nn.Module):
    """Four same-size branches concatenated on channels: 1x1; 1x1->3x3; 1x1->3x3; pool->1x1."""

    def __init__(self, cin: int, w: _InceptionWidths) -> None:
        super().__init__()
        self.branch1 = _BasicConv2d(cin, w.ch1x1, 1)
        self.branch2 = nn.Sequential(_BasicConv2d(cin, w.ch3x3red, 1), _BasicConv2d(w.ch3x3red, w.ch3x3, 3, 1, 1))
        # 3x3 where the paper says 5x5: torchvision's layout, which the C++ keeps for its weights.
        self.branch3 = nn.Sequential(_BasicConv2d(cin, w.ch5x5red, 1), _BasicConv2d(w.ch5x5red, w.ch5x5, 3, 1, 1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), _BasicConv2d(cin, w.pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def _ceil_max_pool(x: torch.Tensor, kernel: int) -> torch.Tensor:
    return F.max_pool2d(x, kernel, 2, 0, 1, ceil_mode=True)


class _InceptionAux(nn.Module):
    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv = _BasicConv2d(cin, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(0.7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


# (in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) of GoogLeNet's modules.
_GOOGLENET_MODULES = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """GoogLeNet (Inception v1) in torchvision 0.14's layout.

    The zoo entry has neither auxiliary heads nor transform_input; both exist as options, as in
    the C++ class. With aux heads, ``forward`` still returns only the logits; in training mode
    ``forward_with_aux`` also returns the heads' outputs (None otherwise).
    """

    def __init__(
        self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False, transform_input: bool = False
    ) -> None:
        super().__init__()
        self.transform_input = transform_input
        self.conv1 = _BasicConv2d(in_channels, 64, 7, 2, 3)
        self.conv2 = _BasicConv2d(64, 64, 1)
        self.conv3 = _BasicConv2d(64, 192, 3, 1, 1)
        for name, (cin, *widths) in _GOOGLENET_MODULES.items():
            self.add_module(name, _Inception(cin, _InceptionWidths(*widths)))
        if aux_logits:
            self.aux1 = _InceptionAux(512, num_classes)
            self.aux2 = _InceptionAux(528, num_classes)
        else:
            self.aux1 = None
            self.aux2 = None
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        # ImageNet-normalized input -> the (x - 0.5) / 0.5 scaling of the TensorFlow weights.
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        channels = [x[:, c : c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)]
        return torch.cat(channels, 1)

    def forward_with_aux(
        self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """(logits, aux2, aux1); the aux outputs only in training mode with aux heads."""
        if self.transform_input:
            x = self._transform(x)
        aux1 = aux2 = None
        x = _ceil_max_pool(self.conv1(x), 3)
        x = _ceil_max_pool(self.conv3(self.conv2(x)), 3)
        x = self.inception3b(self.inception3a(x))
        x = _ceil_max_pool(x, 3)
        x = self.inception4a(x)
        if self.aux1 is not None and self.training:
            aux1 = self.aux1(x)
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        if self.aux2 is not None and self.training:
            aux2 = self.aux2(x)
        x = self.inception4e(x)
        x = _ceil_max_pool(x, 2)
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(_gap(x)))
        return logits, aux2, aux1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


# Per stage (28, 14, 7 px) two modules: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj).
_INCEPTION_SMALL_STAGES = (
    ((16, 24, 32, 4, 8, 8), (16, 24, 32, 8, 8, 8)),
    ((32, 32, 64, 8, 16, 16), (32, 32, 64, 8, 16, 16)),
    ((64, 64, 128, 16, 32, 32), (64, 64, 128, 16, 32, 32)),
)
_INCEPTION_SMALL_STEM = 32


class InceptionSmall(nn.Module):
    """3x3 stem, inception3a/3b, pool, 4a/4b, pool, 5a/5b, global average pool, fc (no dropout)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = _BasicConv2d(in_channels, _INCEPTION_SMALL_STEM, 3, 1, 1)
        cin = _INCEPTION_SMALL_STEM
        self._stages: List[List[str]] = []
        for s, stage in enumerate(_INCEPTION_SMALL_STAGES):
            names_in_stage = []
            for i, widths in enumerate(stage):
                # GoogLeNet's numbering: its first inception stage is "3".
                name = f"inception{s + 3}{'ab'[i]}"
                w = _InceptionWidths(*widths)
                self.add_module(name, _Inception(cin, w))
                names_in_stage.append(name)
                cin = w.out()
            self._stages.append(names_in_stage)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for s, stage in enumerate(self._stages):
            if s > 0:
                x = _ceil_max_pool(x, 3)
            for name in stage:
                x = getattr(self, name)(x)
        return self.fc(_gap(x))


# ---------------------------------------------------------------------------------------------
# DenseNet (src/models/densenet.cpp): torchvision's DenseNet-BC, or the small-image stem
# ---------------------------------------------------------------------------------------------


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = _bn(cin)
        self.conv1 = _conv(cin, bn_size * growth_rate, 1, 1, 0)
        self.norm2 = _bn(bn_size * growth_rate)
        self.conv2 = _conv(bn_size * growth_rate, growth_rate, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Pre-activation: BN -> ReLU -> conv, twice.
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class _DenseBlock(nn.Module):
    def __init__(self, layers: int, cin: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self._layers = layers
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(cin + i * growth_rate, growth_rate, bn_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Every layer sees the block input and all earlier layers' outputs, concatenated.
        features = [x]
        for i in range(self._layers):
            features.append(getattr(self, f"denselayer{i + 1}")(torch.cat(features, 1)))
        return torch.cat(features, 1)


class _Transition(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.norm = _bn(cin)
        self.conv = _conv(cin, cout, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2, 2)


class _DenseFeatures(nn.Module):
    """torchvision's "features": conv0, norm0, denseblock1, transition1, ..., norm5."""

    def __init__(
        self,
        growth_rate: int,
        block_config: Sequence[int],
        num_init_features: int,
        bn_size: int,
        small_image_stem: bool,
        in_channels: int,
    ) -> None:
        super().__init__()
        self.conv0 = (
            _conv(in_channels, num_init_features, 3, 1, 1)
            if small_image_stem
            else _conv(in_channels, num_init_features, 7, 2, 3)
        )
        self._max_pool = not small_image_stem
        self.norm0 = _bn(num_init_features)
        channels = num_init_features
        self._blocks = len(block_config)
        for i, layers in enumerate(block_config):
            self.add_module(f"denseblock{i + 1}", _DenseBlock(layers, channels, growth_rate, bn_size))
            channels += layers * growth_rate
            if i + 1 < len(block_config):
                # Compression 0.5.
                self.add_module(f"transition{i + 1}", _Transition(channels, channels // 2))
                channels //= 2
        self.norm5 = _bn(channels)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm0(self.conv0(x)))
        if self._max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for i in range(self._blocks):
            x = getattr(self, f"denseblock{i + 1}")(x)
            if i + 1 < self._blocks:
                x = getattr(self, f"transition{i + 1}")(x)
        return self.norm5(x)


class DenseNet(nn.Module):
    """features (BN-ReLU-conv dense blocks, norm5), ReLU, global average pool, classifier.

    Defaults are DenseNet-121. torchvision's drop_rate is 0 for every published model, so no
    dropout appears (the C++ models none either).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        small_image_stem: bool = False,
    ) -> None:
        super().__init__()
        self.features = _DenseFeatures(
            growth_rate, block_config, num_init_features, bn_size, small_image_stem, in_channels
        )
        self.classifier = nn.Linear(self.features.out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_gap(F.relu(self.features(x))))


# ---------------------------------------------------------------------------------------------
# MobileNet-v1 (src/models/mobilenet_v1.cpp): MLPerf / TF-slim layout, and the small variant
# ---------------------------------------------------------------------------------------------


class _ConvUnit(nn.Module):
    """Children "0" (conv) and "1" (BN, eps 1e-3), then ReLU6.

    With TensorFlow SAME padding a strided conv pads explicitly, the odd pixel after
    (bottom/right); stride-1 convs pad symmetrically, which SAME equals for odd kernels.
    """

    def __init__(self, cin: int, cout: int, stride: int, groups: int, kernel: int, tf_same_padding: bool) -> None:
        super().__init__()
        self._pad_explicitly = tf_same_padding and stride > 1
        self._stride = stride
        self._kernel = kernel
        padding = 0 if self._pad_explicitly else (kernel - 1) // 2
        self.add_module("0", _conv(cin, cout, kernel, stride, padding, groups))
        self.add_module("1", _bn(cout, 1e-3))

    def _same_pad(self, x: torch.Tensor) -> torch.Tensor:
        def amounts(size: int) -> Tuple[int, int]:
            out = (size + self._stride - 1) // self._stride
            total = max((out - 1) * self._stride + self._kernel - size, 0)
            return total // 2, total - total // 2

        top, bottom = amounts(x.size(2))
        left, right = amounts(x.size(3))
        return F.pad(x, (left, right, top, bottom), mode="constant", value=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._pad_explicitly:
            x = self._same_pad(x)
        # Looked up by name so that a replaced "0" is the one that runs.
        y = self._modules["1"](self._modules["0"](x))
        return torch.clamp(y, 0, 6)  # ReLU6, computed as the C++ does


class _DepthwiseSeparable(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, tf_same_padding: bool) -> None:
        super().__init__()
        self.depthwise = _ConvUnit(cin, cin, stride, cin, 3, tf_same_padding)
        self.pointwise = _ConvUnit(cin, cout, 1, 1, 1, tf_same_padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


# (output channels, stride) of Conv2d_1 .. Conv2d_13 in the MLPerf / TF-slim model.
_MOBILENET_V1_UNITS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
    (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip
_MOBILENET_V1_SMALL_UNITS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


class MobileNetV1(nn.Module):
    """features.0 stem (32 channels), features.1.. depthwise-separable units, GAP, classifier.

    The classifier is Sequential(Dropout(0.001), Linear): slim's 1x1 logits conv with bias, on a
    1x1 map, as a Linear. ``units`` None means the MLPerf model's 13 units.
    """

    def __init__(
        self,
        num_classes: int = 1001,
        in_channels: int = 3,
        tf_same_padding: bool = True,
        stem_stride: int = 2,
        units: Optional[Sequence[Tuple[int, int]]] = None,
    ) -> None:
        super().__init__()
        features = nn.Sequential(_ConvUnit(in_channels, 32, stem_stride, 1, 3, tf_same_padding))
        cin = 32
        for cout, stride in _MOBILENET_V1_UNITS if not units else units:
            features.append(_DepthwiseSeparable(cin, cout, stride, tf_same_padding))
            cin = cout
        self.features = features
        self.classifier = nn.Sequential(nn.Dropout(0.001), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_gap(self.features(x)))


# ---------------------------------------------------------------------------------------------
# MobileNet-v2 (src/models/mobilenet_v2.cpp): torchvision's, width 1.0
# ---------------------------------------------------------------------------------------------


def _conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int, groups: int) -> nn.Sequential:
    # torchvision's Conv2dNormActivation: children "0" conv, "1" BN (eps 1e-5), "2" ReLU6.
    return nn.Sequential(_conv(cin, cout, kernel, stride, (kernel - 1) // 2, groups), _bn(cout), nn.ReLU6())


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self._use_residual = stride == 1 and cin == cout
        hidden = cin * expand_ratio
        block = nn.Sequential()
        if expand_ratio != 1:
            block.append(_conv_bn_relu6(cin, hidden, 1, 1, 1))  # pointwise expansion
        block.append(_conv_bn_relu6(hidden, hidden, 3, stride, hidden))  # depthwise
        block.append(_conv(hidden, cout, 1))  # linear bottleneck: no activation
        block.append(_bn(cout))
        self.conv = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self._use_residual else y


# (expand ratio t, output channels c, repeats n, first stride s), torchvision's table.
_MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)  # fmt: skip


class MobileNetV2(nn.Module):
    """features.0 stem, features.1..17 inverted residuals, features.18 1x1 to 1280, GAP,
    classifier = Sequential(Dropout(0.2), Linear)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        last_channel = 1280
        cin = 32
        features = nn.Sequential(_conv_bn_relu6(in_channels, cin, 3, 2, 1))
        for t, c, n, s in _MOBILENET_V2_SETTINGS:
            for i in range(n):
                features.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        features.append(_conv_bn_relu6(cin, last_channel, 1, 1, 1))
        self.features = features
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(_gap(self.features(x)))


# ---------------------------------------------------------------------------------------------
# vgg_small (src/models/vgg_small.cpp)
# ---------------------------------------------------------------------------------------------


class VggSmall(nn.Module):
    """features = [conv, BN, ReLU] x2 per stage (32/64/128), 2x2 max-pool between stages; GAP; fc."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        features = nn.Sequential()
        cin = in_channels
        for stage, width in enumerate((32, 64, 128)):
            if stage > 0:
                features.append(nn.MaxPool2d(2))  # stride defaults to the kernel size, as in libtorch
            for _ in range(2):
                features.append(_conv(cin, width, 3, 1, 1))
                features.append(_bn(width))
                features.append(nn.ReLU())
                cin = width
        self.features = features
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(_gap(self.features(x)))


# ---------------------------------------------------------------------------------------------
# The registry (src/models/zoo.cpp and each file's add_*_models)
# ---------------------------------------------------------------------------------------------

_SMALL = "small-image"
_IMAGENET = "imagenet"
_SEGMENTATION = "segmentation"
_DETECTION = "detection"
_SMALL_RESNET_INPUT = (3, 32, 32)
_SMALL_INPUT = (1, 28, 28)
_IMAGENET_INPUT = (3, 224, 224)
_IMAGENET_PLANES = (64, 128, 256, 512)

Builder = Callable[[int, int], nn.Module]  # (num_classes, in_channels) -> module


class _Entry(NamedTuple):
    family: str
    default_input: Tuple[int, int, int]
    build: Builder


def _resnet(bottleneck: bool, imagenet: bool, blocks: Sequence[int], planes: Sequence[int], wpg: int = 64) -> Builder:
    return lambda nc, ic: ResNet(bottleneck, imagenet, blocks, planes, nc, ic, wpg)


def _registry() -> Dict[str, _Entry]:
    zoo: Dict[str, _Entry] = {}
    # resnet.cpp
    for depth in (20, 32, 44, 56):
        n = (depth - 2) // 6
        zoo[f"resnet{depth}"] = _Entry(_SMALL, _SMALL_RESNET_INPUT, _resnet(False, False, (n, n, n), (16, 32, 64)))
    zoo["resnet29_bottleneck"] = _Entry(_SMALL, _SMALL_RESNET_INPUT, _resnet(True, False, (3, 3, 3), (16, 32, 64)))
    zoo["resnet18"] = _Entry(_IMAGENET, _IMAGENET_INPUT, _resnet(False, True, (2, 2, 2, 2), _IMAGENET_PLANES))
    zoo["resnet34"] = _Entry(_IMAGENET, _IMAGENET_INPUT, _resnet(False, True, (3, 4, 6, 3), _IMAGENET_PLANES))
    zoo["resnet50"] = _Entry(_IMAGENET, _IMAGENET_INPUT, _resnet(True, True, (3, 4, 6, 3), _IMAGENET_PLANES))
    zoo["resnet101"] = _Entry(_IMAGENET, _IMAGENET_INPUT, _resnet(True, True, (3, 4, 23, 3), _IMAGENET_PLANES))
    zoo["wide_resnet50_2"] = _Entry(
        _IMAGENET, _IMAGENET_INPUT, _resnet(True, True, (3, 4, 6, 3), _IMAGENET_PLANES, 128)
    )
    # googlenet.cpp: no aux heads, no transform_input.
    zoo["googlenet"] = _Entry(_IMAGENET, _IMAGENET_INPUT, lambda nc, ic: GoogLeNet(nc, ic))
    # inception_small.cpp
    zoo["inception_small"] = _Entry(_SMALL, _SMALL_INPUT, lambda nc, ic: InceptionSmall(nc, ic))
    # densenet.cpp
    zoo["densenet121"] = _Entry(_IMAGENET, _IMAGENET_INPUT, lambda nc, ic: DenseNet(nc, ic))
    zoo["densenet_small"] = _Entry(
        _SMALL,
        _SMALL_INPUT,
        lambda nc, ic: DenseNet(
            nc, ic, growth_rate=12, block_config=(4, 6, 8), num_init_features=24, small_image_stem=True
        ),
    )
    # mobilenet_v1.cpp: the small variant pads symmetrically (there are no TF weights to match).
    zoo["mobilenet_v1"] = _Entry(_IMAGENET, _IMAGENET_INPUT, lambda nc, ic: MobileNetV1(nc, ic))
    zoo["mobilenet_v1_small"] = _Entry(
        _SMALL,
        _SMALL_INPUT,
        lambda nc, ic: MobileNetV1(nc, ic, tf_same_padding=False, stem_stride=1, units=_MOBILENET_V1_SMALL_UNITS),
    )
    # mobilenet_v2.cpp
    zoo["mobilenet_v2"] = _Entry(_IMAGENET, _IMAGENET_INPUT, lambda nc, ic: MobileNetV2(nc, ic))
    # vgg_small.cpp
    zoo["vgg_small"] = _Entry(_SMALL, _SMALL_INPUT, lambda nc, ic: VggSmall(nc, ic))
    # fcn.cpp
    for depth, blocks in ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3))):
        zoo[f"fcn_resnet{depth}"] = _Entry(_SEGMENTATION, (3, 520, 520), lambda nc, ic, blocks=blocks: Fcn(
            ResNet(True, True, blocks, _IMAGENET_PLANES, nc, ic, 64, (False, True, True), False), nc, False))
    zoo["fcn_small"] = _Entry(_SEGMENTATION, (3, 64, 64), lambda nc, ic: Fcn(
        ResNet(False, False, (3, 3, 3), (16, 32, 64), nc, ic, classifier=False), nc, False))
    # yolo.cpp: YoloConfig's defaults (head width 64, two head convs); output stride 8.
    zoo["yolo_small"] = _Entry(_DETECTION, (3, 96, 96), lambda nc, ic: YoloSmall(
        ResNet(False, False, (3, 3, 3, 2), (16, 32, 64, 128), nc, ic, classifier=False), nc))
    return zoo


_ZOO = _registry()


def names() -> List[str]:
    """Every registered architecture, sorted (the C++ model_zoo() order)."""
    return sorted(_ZOO)


def _entry(name: str) -> _Entry:
    try:
        return _ZOO[name]
    except KeyError:
        raise ValueError(f"unknown model '{name}'; known: {', '.join(names())}") from None


def family(name: str) -> str:
    """"small-image" (CIFAR/MNIST-sized inputs), "imagenet", "segmentation" or "detection"."""
    return _entry(name).family


def default_input(name: str) -> Tuple[int, int, int]:
    """(C, H, W) the architecture was designed for."""
    return _entry(name).default_input


def build(name: str, num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """The named architecture with random weights, in eval mode.

    Raises ValueError for an unknown name (listing the known ones) or a non-positive option, as
    the C++ build_model does.
    """
    if num_classes <= 0:
        raise ValueError("number of classes must be positive")
    if in_channels <= 0:
        raise ValueError("number of input channels must be positive")
    model = _entry(name).build(num_classes, in_channels)
    return model.eval()
