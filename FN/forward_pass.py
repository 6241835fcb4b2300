"""Day4-5: fast forward passes, so that agents never call ``model.predict`` inside a loop.

An agent acts at every environment step, on one state (or one batch of states) at a time.
``model.predict`` costs about 36 ms a call, far too much there; the book used it, and that is
one reason its Day4 needed days on a CPU. The forward passes here give the same numbers:

- ``DenseForward``: a NumPy copy of a chain of ``Dense`` layers. A small MLP's forward pass
  costs a few microseconds this way. The copy goes stale when the layers are trained: the
  agents call ``sync`` after every update.
- ``BranchedForward``: a shared trunk of Dense layers and several heads (an actor-critic's
  policy and value), in NumPy too.
- ``CompiledForward``: for networks NumPy cannot copy simply (convolutions), a ``tf.function``
  of the model, about 0.3 ms a call. It reads the model's variables, so it never goes stale.

``make_forward(model)`` picks the fastest one that fits the model.

A2C's network draws its action inside the model with the book's ``SampleLayer``; ``gumbel_max``
is the same draw in NumPy, for acting on the heads' outputs.
"""

import keras
import numpy as np
import tensorflow as tf

NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "softmax": lambda x: softmax(x),
}


def softmax(logits):
    """Row-wise softmax in NumPy, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


class DenseForward:
    """A NumPy copy of a chain of Keras ``Dense`` layers. Call ``sync`` after every update."""

    def __init__(self, layers):
        self.layers = list(layers)
        for layer in self.layers:
            name = layer.activation.__name__
            if not hasattr(layer, "kernel") or name not in NUMPY_ACTIVATIONS:
                raise ValueError(f"DenseForward cannot copy layer {layer.name} ({name})")
        self.params = []
        self.sync()

    @classmethod
    def supports(cls, model):
        """True when ``model`` is a plain chain of Dense layers that this class can copy."""
        return all(type(layer).__name__ == "Dense"
                   and layer.activation.__name__ in NUMPY_ACTIVATIONS for layer in model.layers)

    def sync(self):
        self.params = [(layer.kernel.numpy(), layer.bias.numpy(),
                        NUMPY_ACTIVATIONS[layer.activation.__name__]) for layer in self.layers]

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        for kernel, bias, activation in self.params:
            x = activation(x @ kernel + bias)
        return x


class BranchedForward:
    """A NumPy copy of a shared trunk of Dense layers followed by several heads.

    Calling it returns one array per head. Call ``sync`` after every update.
    """

    def __init__(self, trunk, heads):
        self.trunk = DenseForward(trunk) if trunk else None
        self.heads = [DenseForward(head) for head in heads]

    def sync(self):
        if self.trunk is not None:
            self.trunk.sync()
        for head in self.heads:
            head.sync()

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        features = self.trunk(x) if self.trunk is not None else x
        return [head(features) for head in self.heads]


class CompiledForward:
    """The forward pass of any Keras model as a ``tf.function`` (convolutions, for instance)."""

    def __init__(self, model):
        self.model = model
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def sync(self):
        """Nothing to copy: the compiled function reads the model's variables directly."""

    def __call__(self, x):
        outputs = self._call(tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))
        if isinstance(outputs, (list, tuple)):
            return [output.numpy() for output in outputs]
        return outputs.numpy()


def make_forward(model):
    """The fastest forward pass for ``model``: ``DenseForward`` when possible, else compiled."""
    if DenseForward.supports(model):
        return DenseForward(model.layers)
    return CompiledForward(model)


@keras.saving.register_keras_serializable(package="FN")
class SampleLayer(keras.layers.Layer):
    """Draws one action per row from the categorical distribution given by logits.

    The Gumbel-max trick: argmax(logits + g) with g = −log(−log u), u ~ Uniform(0, 1), picks
    action a with probability softmax(logits)[a].
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, logits):
        noise = keras.random.uniform(keras.ops.shape(logits), minval=1e-10, maxval=1.0,
                                     seed=self.seed_generator)
        return keras.ops.argmax(logits - keras.ops.log(-keras.ops.log(noise)), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def gumbel_max(logits):
    """SampleLayer's draw in NumPy: one action per row of ``logits``."""
    noise = np.random.uniform(1e-10, 1.0, size=np.shape(logits))
    return np.argmax(logits - np.log(-np.log(noise)), axis=-1)
