"""Day6: the book's evolution-strategies network, computed in NumPy (the fast form).

The book's ``EvolutionalAgent`` is a Keras model, Conv2D(3 filters, 5×5, stride 3, ReLU) →
Flatten → Dense(softmax), and every worker calls ``model.predict`` on every frame. Importing
TensorFlow costs each worker seconds and hundreds of megabytes, and ``predict`` tens of
milliseconds a call. The same network in NumPy costs tens of microseconds a frame, from weights
laid out as Keras' ``get_weights()``; ``EvolutionalAgent.keras_model()`` builds the book's form
from them, and a test checks that both give the same probabilities.
"""

import functools

import numpy as np

FILTERS, KERNEL_SIZE, STRIDE = 3, 5, 3


@functools.lru_cache(maxsize=8)
def patch_index(height, width, channels, kernel=KERNEL_SIZE, stride=STRIDE):
    """Where each convolution window's pixels are in a flattened (height, width, channels)
    state, in the order of Keras' kernel: one row per window. Gathering the windows into the
    rows of a matrix ("im2col") turns the convolution into one matrix product."""
    out_height = (height - kernel) // stride + 1
    out_width = (width - kernel) // stride + 1
    rows = np.arange(out_height)[:, None, None, None, None] * stride
    rows = rows + np.arange(kernel)[None, None, :, None, None]
    columns = np.arange(out_width)[None, :, None, None, None] * stride
    columns = columns + np.arange(kernel)[None, None, None, :, None]
    channel = np.arange(channels)[None, None, None, None, :]
    index = (rows * width + columns) * channels + channel
    return index.reshape(out_height * out_width, kernel * kernel * channels)


def action_probabilities(weights, states):
    """The network's softmax output for a batch of states: (n, height, width, frames) → (n, A).

    ``weights`` is ``[conv_kernel, conv_bias, dense_kernel, dense_bias]`` in Keras' layout;
    the convolution has no padding ("valid"), and Flatten takes the feature maps row by row.
    """
    conv_kernel, conv_bias, dense_kernel, dense_bias = weights
    states = np.asarray(states, dtype=np.float32)
    n, height, width, channels = states.shape
    index = patch_index(height, width, channels, conv_kernel.shape[0], STRIDE)
    patches = states.reshape(n, -1).take(index, axis=1)  # (n, windows, 5·5·frames)
    features = patches.reshape(-1, index.shape[1]) @ conv_kernel.reshape(-1, FILTERS)
    features += conv_bias
    np.maximum(features, 0.0, out=features)  # ReLU
    logits = features.reshape(n, -1) @ dense_kernel + dense_bias
    logits -= logits.max(axis=1, keepdims=True)  # so that exp never overflows
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities


def weight_shapes(state_shape, num_actions):
    """The shapes of the four weight arrays for states of ``state_shape`` (Keras' order)."""
    height, width, channels = state_shape
    features = ((height - KERNEL_SIZE) // STRIDE + 1) * ((width - KERNEL_SIZE) // STRIDE + 1)
    return [(KERNEL_SIZE, KERNEL_SIZE, channels, FILTERS), (FILTERS,),
            (features * FILTERS, num_actions), (num_actions,)]


def glorot_weights(state_shape, num_actions, rng):
    """Fresh weights as Keras initializes the book's model: biases 0, the Dense layer Glorot
    uniform, and the convolution Glorot *normal* (the book's choice): a normal cut at two
    standard deviations, widened so that what remains has variance 2 / (fan_in + fan_out)."""
    kernel_shape, bias_shape, dense_shape, dense_bias_shape = weight_shapes(state_shape,
                                                                           num_actions)
    fan_in = np.prod(kernel_shape[:3])  # a window: 5 × 5 × frames
    fan_out = np.prod(kernel_shape[:2]) * FILTERS
    # 0.8796... is the standard deviation of a unit normal truncated to [-2, 2].
    std = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    kernel = rng.standard_normal(kernel_shape)
    outside = np.abs(kernel) > 2.0
    while outside.any():  # redraw the values beyond two standard deviations
        kernel[outside] = rng.standard_normal(np.count_nonzero(outside))
        outside = np.abs(kernel) > 2.0
    limit = np.sqrt(6.0 / sum(dense_shape))
    dense = rng.uniform(-limit, limit, dense_shape)
    weights = [kernel * std, np.zeros(bias_shape), dense, np.zeros(dense_bias_shape)]
    return [w.astype(np.float32) for w in weights]
