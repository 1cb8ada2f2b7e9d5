"""One module (or package) per backend, each registering the kernels it can run here; kernels.registry
imports every module in this folder. A module declares `BACKENDS = (...)` before its library's import, so a
missing library leaves those backends unregistered with the reason."""
