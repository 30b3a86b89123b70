// Translation unit that owns the shared precompiled <torch/torch.h>.
