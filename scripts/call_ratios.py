"""What a user's `fit` call costs beside the kernel alone (prepare + solve on validated data) and the read
floor, measured side by side in one process (interleaved rounds, median and best).

    python scripts/call_ratios.py [--sizes 100 1e6 1e7] [--d 1] [--rounds 9] [--kernels ols/numba-parallel ...]
"""
from __future__ import annotations

import argparse
import warnings

from benchmarks.floors import read_once
from kernels import REGISTRY, Options, fit
from kernels.threads import thread_info
from scripts.cpu_ratios import _data, measure

DEFAULT = ("ols/numba-parallel", "ols/numba", "gd/numba-parallel", "gd/numba", "gd/numba-gram")


def _opts(name: str, epochs: int) -> dict:
    return {"epochs": epochs, "learning_rate": 0.1} if name.startswith("gd/") else {}


def entries_for(n: int, d: int, kernels, epochs: int) -> dict:
    X, y = _data(n, d)
    out = {"floor": lambda: read_once(X, y)}
    for name in kernels:
        k, kw = REGISTRY[name], _opts(name, epochs)
        o = Options(**kw)
        fit(X, y, kernel=name, **kw)  # compile and warm up outside the clock
        out[f"{name} kernel"] = lambda k=k, o=o: k.solve(k.prepare(X, y, o), True, o)
        out[f"{name} fit"] = lambda name=name, kw=kw: fit(X, y, kernel=name, **kw)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="*", default=[100, 1e6, 1e7])
    ap.add_argument("--d", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--kernels", nargs="*", default=list(DEFAULT))
    args = ap.parse_args()
    print("threads:", thread_info())
    warnings.simplefilter("ignore")
    for n in map(int, args.sizes):
        ent = entries_for(n, args.d, args.kernels, args.epochs)
        res = measure(ent, args.rounds if n >= 10**6 else args.rounds * 50)
        fl_med, fl_min = res["floor"][0], res["floor"][1]
        print(f"\nn = {n:.0e}, d = {args.d} (gd: {args.epochs} epochs); median / best, x floor and fit / kernel")
        for name in args.kernels:
            (km, kb, _), (fm, fb, _) = res[f"{name} kernel"], res[f"{name} fit"]
            print(f"  {name:22s} kernel {km * 1e3:9.3f} ms ({km / fl_med:6.2f}x floor, best {kb / fl_min:6.2f}x)"
                  f"  fit {fm * 1e3:9.3f} ms ({fm / fl_med:6.2f}x, best {fb / fl_min:6.2f}x)"
                  f"  fit/kernel {fm / km:5.2f} (best {fb / kb:5.2f})")


if __name__ == "__main__":
    main()
