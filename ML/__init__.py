"""Day1 and the neural-network primer: returns, MDPs, gradients, tensors and Keras."""
