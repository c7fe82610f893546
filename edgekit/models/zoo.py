"""The small architectures people ship to a device, for edgekit's tests and its model-zoo benchmark.

MobileNetV2 and MobileNetV3Small come from ``keras.applications`` (random init, as a user starts from them);
the ResNet-style and EfficientNet-style models are written here from their blocks: Conv + BatchNorm + ReLU,
depthwise Conv + BatchNorm, residual Add, squeeze-and-excite (GAP, two 1x1 convs, Multiply), swish and
hard-swish, GlobalAveragePooling2D, and a Rescaling layer inside the model. ``width`` scales the channels, so
the same builder gives a model that trains in seconds (tests) and one of realistic size (benchmarks/zoo.py).

Not in the training registry (``MODELS``): these take 32x32 input or more, and MNIST is 28x28.
Every builder imports Keras inside itself and returns an uncompiled model with a logits or softmax head.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ZooBuilder = Callable[..., Any]  # (input_shape, classes, width=..., seed=...) -> keras.Model


def mobilenet_v2(input_shape: tuple[int, ...], classes: int = 10, width: float = 0.35, seed: int = 0) -> Any:
    """keras.applications.MobileNetV2 (ReLU6, depthwise, BN, residual Add), logits head."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.applications.MobileNetV2(
        input_shape=input_shape, alpha=width, weights=None, classes=classes, classifier_activation=None
    )


def mobilenet_v3_small(input_shape: tuple[int, ...], classes: int = 10, width: float = 1.0, seed: int = 0) -> Any:
    """keras.applications.MobileNetV3Small: hard-swish, squeeze-excite with hard-sigmoid, Rescaling inside."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.applications.MobileNetV3Small(
        input_shape=input_shape, alpha=width, weights=None, classes=classes, include_preprocessing=True,
        minimalistic=False,
    )  # fmt: skip


def resnet_style(input_shape: tuple[int, ...], classes: int = 10, width: float = 1.0, seed: int = 0) -> Any:
    """Conv+BN+ReLU stem, residual blocks (depthwise+BN, 1x1 conv+BN, Add, swish), GAP, softmax head."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    channels = [max(8, int(c * width)) for c in (16, 32, 64)]
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    x = layers.Conv2D(channels[0], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, c in enumerate(channels):
        if i:
            x = layers.Conv2D(c, 1, strides=2, use_bias=False, name=f"down{i}_conv")(x)
            x = layers.BatchNormalization(name=f"down{i}_bn")(x)
        shortcut = x
        y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"res{i}_dw")(x)
        y = layers.BatchNormalization(name=f"res{i}_dw_bn")(y)
        y = layers.Activation("swish", name=f"res{i}_swish")(y)
        y = layers.Conv2D(c, 1, use_bias=False, name=f"res{i}_pw")(y)
        y = layers.BatchNormalization(name=f"res{i}_pw_bn")(y)
        x = layers.Add(name=f"res{i}_add")([shortcut, y])
        x = layers.ReLU(name=f"res{i}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="resnet_style")


def efficientnet_style(input_shape: tuple[int, ...], classes: int = 10, width: float = 1.0, seed: int = 0) -> Any:
    """MBConv blocks as EfficientNet-B0 has them: expand 1x1, depthwise, swish, squeeze-excite, project, Add."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    x = layers.Conv2D(max(8, int(16 * width)), 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_swish")(x)
    for i, (channels, stride) in enumerate(((16, 1), (24, 2), (40, 2), (40, 1))):
        x = _mbconv(x, max(8, int(channels * width)), stride, f"block{i}")
    x = layers.Conv2D(max(16, int(128 * width)), 1, use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation("swish", name="head_swish")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="efficientnet_style")


def _mbconv(x: Any, channels: int, stride: int, name: str) -> Any:
    from keras import layers

    inputs, expanded = x, int(x.shape[-1]) * 4
    x = layers.Conv2D(expanded, 1, use_bias=False, name=f"{name}_expand")(x)
    x = layers.BatchNormalization(name=f"{name}_expand_bn")(x)
    x = layers.Activation("swish", name=f"{name}_expand_swish")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.Activation("swish", name=f"{name}_dw_swish")(x)
    squeezed = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
    squeezed = layers.Conv2D(max(4, expanded // 16), 1, activation="swish", name=f"{name}_se_reduce")(squeezed)
    squeezed = layers.Conv2D(expanded, 1, activation="sigmoid", name=f"{name}_se_expand")(squeezed)
    x = layers.Multiply(name=f"{name}_se_excite")([x, squeezed])
    x = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_project")(x)
    x = layers.BatchNormalization(name=f"{name}_project_bn")(x)
    if stride == 1 and int(inputs.shape[-1]) == channels:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


ZOO: dict[str, ZooBuilder] = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "efficientnet_style": efficientnet_style,
    "resnet_style": resnet_style,
}
