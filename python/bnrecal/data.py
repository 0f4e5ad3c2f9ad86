"""The images bnrecal's commands read, as Python iterables of ``(images, labels)`` batches.

Any dataset form ``--data`` accepts (``fashion-mnist``, ``mnist``, ``cifar10:PATH``, image folders),
with the CLI's seeded order, augmentation and normalization, so a Python run sees exactly the
images ``bnrecal calibrate``, ``recalibrate`` and ``eval`` see::

    test = bnrecal.data.ImageStream("fashion-mnist", "test", batch_size=256, limit=1000)
    train = bnrecal.data.sample("fashion-mnist", images=2048, batch_size=256, seed=1)  # as recalibrate
    for images, labels in test: ...

Any other iterable of image tensors (or of ``(images, labels)`` pairs, e.g. a DataLoader) works
with the package's functions too.
"""
from . import _ops


class ImageStream:
    """Batches of a dataset split; iterating again starts over with the same images and order."""

    def __init__(self, data="fashion-mnist", split="test", batch_size=256, shuffle=False, augment=False,
                 seed=0, limit=-1, normalization=None):
        mean, std = normalization if normalization else ([], [])
        self._stream = _ops.call(_ops.classes.ImageStream, data, split, int(batch_size), bool(shuffle),
                                 bool(augment), int(seed), int(limit), [float(v) for v in mean],
                                 [float(v) for v in std])

    def __iter__(self):
        self._stream.rewind()
        while True:
            batch = _ops.call(self._stream.next)
            if not batch:
                return
            yield batch[0], batch[1]

    def __len__(self):
        """Images per pass."""
        return self._stream.num_images()

    @property
    def num_classes(self):
        return self._stream.num_classes()

    @property
    def image_shape(self):
        return tuple(self._stream.image_shape())

    @property
    def name(self):
        return self._stream.name()


def sample(data="fashion-mnist", images=2048, batch_size=256, seed=1, augment=False, normalization=None):
    """`images` seeded-random training images: how calibrate and recalibrate read the training split."""
    return ImageStream(data, "train", batch_size=batch_size, shuffle=True, augment=augment, seed=seed,
                       limit=images, normalization=normalization)


def images_of(batch):
    """The image tensor of a batch that is either a tensor or an ``(images, labels, ...)`` sequence."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch
