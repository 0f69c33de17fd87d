"""A network written the most common way, as an nn.Sequential: its parameters are 0.weight, 0.bias,
2.weight, 2.bias (the layers' indices), drawn Linear₀.weight and so on. It is built as this file is
imported, after torch.manual_seed(seed), so the config's seed fixes its weights."""
from torch import nn

net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
