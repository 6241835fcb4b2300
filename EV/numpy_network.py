"""Day6: the book's evolution-strategies network in NumPy, the fast form of ``model.predict``.

Conv2D(3 filters, 5×5, stride 3, ReLU) → Flatten → Dense(softmax), weights as Keras lays them
out: microseconds a frame, no TensorFlow. ``EvolutionalAgent.keras_model()`` is the book's form.
"""

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FILTERS, KERNEL_SIZE, STRIDE = 3, 5, 3


@functools.lru_cache(maxsize=8)
def patch_index(height, width, channels, kernel=KERNEL_SIZE, stride=STRIDE):
    """Where each convolution window's pixels are in a flattened state, one row per window in
    Keras' kernel order: gathered ("im2col"), the convolution is one matrix product."""
    pixels = np.arange(height * width * channels).reshape(height, width, channels)
    windows = sliding_window_view(pixels, (kernel, kernel), axis=(0, 1))[::stride, ::stride]
    return windows.transpose(0, 1, 3, 4, 2).reshape(-1, kernel * kernel * channels)


def action_probabilities(weights, states):
    """The softmax output for a batch of states, (n, height, width, frames) → (n, actions);
    no padding ("valid"), and Flatten takes the feature maps row by row, as Keras does."""
    conv_kernel, conv_bias, dense_kernel, dense_bias = weights
    states = np.asarray(states, dtype=np.float32)
    index = patch_index(*states.shape[1:], conv_kernel.shape[0], STRIDE)  # height, width, frames
    patches = states.reshape(len(states), -1).take(index, axis=1)  # (n, windows, 5·5·frames)
    features = patches.reshape(-1, index.shape[1]) @ conv_kernel.reshape(-1, FILTERS)
    features = np.maximum(features + conv_bias, 0.0)  # ReLU
    logits = features.reshape(len(states), -1) @ dense_kernel + dense_bias
    logits -= logits.max(axis=1, keepdims=True)  # so that exp never overflows
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def weight_shapes(state_shape, num_actions):
    """The shapes of the four weight arrays for states of ``state_shape`` (Keras' order)."""
    height, width, channels = state_shape
    features = ((height - KERNEL_SIZE) // STRIDE + 1) * ((width - KERNEL_SIZE) // STRIDE + 1)
    return [(KERNEL_SIZE, KERNEL_SIZE, channels, FILTERS), (FILTERS,),
            (features * FILTERS, num_actions), (num_actions,)]


def glorot_weights(state_shape, num_actions, rng):
    """Fresh weights as Keras initializes the book's model: biases 0, the Dense layer Glorot
    uniform, the convolution Glorot normal (a normal cut at two standard deviations)."""
    kernel_shape, bias_shape, dense_shape, bias2_shape = weight_shapes(state_shape, num_actions)
    fan_in, fan_out = np.prod(kernel_shape[:3]), np.prod(kernel_shape[:2]) * FILTERS
    # Widened by 1 / 0.8796..., the std of a unit normal cut at ±2: the variance stays 2 / fans.
    std = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    kernel = rng.standard_normal(kernel_shape)
    while (outside := np.abs(kernel) > 2.0).any():  # redraw beyond two standard deviations
        kernel[outside] = rng.standard_normal(np.count_nonzero(outside))
    dense = rng.uniform(-1.0, 1.0, dense_shape) * np.sqrt(6.0 / sum(dense_shape))
    weights = [kernel * std, np.zeros(bias_shape), dense, np.zeros(bias2_shape)]
    return [w.astype(np.float32) for w in weights]
