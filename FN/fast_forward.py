"""Day4-5: fast forward passes for acting, once per environment step (``model.predict`` costs
milliseconds a call). A chain of Keras ``Dense`` layers runs in NumPy (for a small MLP about 20
times faster than even a compiled call), others as a ``tf.function``; ``sync`` after updates.
"""

import numpy as np

NUMPY_ACTIVATIONS = {"linear": lambda x: x, "relu": lambda x: np.maximum(x, 0.0),
                     "tanh": np.tanh, "softmax": lambda x: softmax(x)}


def softmax(logits):
    """Row-wise softmax in NumPy, stable for large logits."""
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


class DenseForward:
    """A NumPy copy of a chain of Keras ``Dense`` layers."""

    def __init__(self, layers):
        self.layers = list(layers)
        self.sync()

    def sync(self):
        self.params = [(layer.kernel.numpy(), layer.bias.numpy(),
                        NUMPY_ACTIVATIONS[layer.activation.__name__]) for layer in self.layers]

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        for kernel, bias, activation in self.params:
            x = activation(x @ kernel + bias)
        return x


class BranchedForward:
    """NumPy copies of a shared trunk of Dense layers and of several heads (one array each)."""

    def __init__(self, trunk, heads):
        self.parts = [DenseForward(trunk)] + [DenseForward(head) for head in heads]

    def sync(self):
        for part in self.parts:
            part.sync()

    def __call__(self, x):
        features = self.parts[0](x)
        return [head(features) for head in self.parts[1:]]


class CompiledForward:
    """The forward pass of any Keras model (convolutions, say) as a ``tf.function``."""

    def __init__(self, model):
        import tensorflow as tf

        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def sync(self):  # nothing to copy: the compiled function reads the model's variables
        pass

    def __call__(self, x):
        outputs = self._call(np.asarray(x, dtype=np.float32))
        if isinstance(outputs, (list, tuple)):
            return [output.numpy() for output in outputs]
        return outputs.numpy()


def make_forward(model):
    """The fastest forward pass for ``model``: ``DenseForward`` when possible, else compiled."""
    dense = all(type(layer).__name__ == "Dense" and layer.activation.__name__ in NUMPY_ACTIVATIONS
                for layer in model.layers)
    return DenseForward(model.layers) if dense else CompiledForward(model)
