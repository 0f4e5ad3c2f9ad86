"""Loads bnrecal's torch custom ops (the shared library built beside this file) and turns the
library's input errors into :class:`InputError`, with the CLI's message unchanged.

Set BNRECAL_OPS_LIBRARY to load the library from elsewhere.
"""
import functools
import os

import torch

_INPUT_ERROR_TAG = "[bnrecal.InputError] "


class InputError(ValueError):
    """The input or configuration is wrong (what the CLI reports as ``error: ...``, exit 1)."""


def _library_path():
    override = os.environ.get("BNRECAL_OPS_LIBRARY")
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bnrecal_ops.so")


def _load():
    path = _library_path()
    if not os.path.exists(path):
        raise ImportError(
            f"bnrecal's ops library is missing ({path}): build it with "
            "`cmake --build build --target bnrecal_python` and use PYTHONPATH=build/python, "
            "or install the package with `cmake --install build --component python`")
    torch.ops.load_library(path)


_load()
ops = torch.ops.bnrecal
classes = torch.classes.bnrecal


def input_errors(function):
    """Decorator: the library's input errors inside `function` surface as InputError."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RuntimeError as error:
            message = str(error)
            if not message.startswith(_INPUT_ERROR_TAG):
                raise
            raise InputError(message[len(_INPUT_ERROR_TAG):]) from None
    return wrapper


def call(function, *args):
    """Calls an op or a method of a bnrecal class, raising InputError for bad input."""
    return input_errors(function)(*args)
