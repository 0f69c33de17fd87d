"""cs231n's 2-D sigmoid neuron, written the way a torch user would: the same numbers as
sigmoid_neuron.yaml's expression (f = 0.73, dw0 = -0.20, dx0 = 0.39, ...)."""
import torch


def neuron(w0, x0, w1, x1, w2):
    a = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + torch.exp(-a))
