"""What the benchmark scripts share: the workload, the machine report, timing."""

import datetime
import importlib.metadata
import os
import platform
import statistics
import time

import numpy as np
import scipy
import sklearn
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_info, threadpool_limits

import sknormnet

N_FEATURES = 100
N_CLASSES = 10
HIDDEN_LAYER_SIZES = (256, 256)
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
DTYPES = {"float32": np.float32, "float64": np.float64}


def make_workload(n_samples, random_state=0):
    """The benchmark's classification problem: 100 features, 10 classes."""
    return make_classification(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=50,
        n_classes=N_CLASSES,
        random_state=random_state,
    )


def selected_dtypes(choice):
    """``--dtype`` as a list of (name, dtype) pairs."""
    names = list(DTYPES) if choice == "both" else [choice]
    return [(name, DTYPES[name]) for name in names]


def numpy_blas_threads():
    """Number of threads of the BLAS numpy itself calls, per threadpoolctl."""
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    for info in blas:
        if "numpy" in os.path.basename(os.path.dirname(info["filepath"])):
            return info["num_threads"]
    return max((info["num_threads"] for info in blas), default=1)


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _torch_version():
    # Read from the package metadata: importing torch here would load its
    # thread pools into scripts that do not use it.
    try:
        return f"torch {importlib.metadata.version('torch')}"
    except importlib.metadata.PackageNotFoundError:
        return "torch not installed"


def load_average():
    """The 1, 5 and 15 minute load averages, or None where unavailable."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def print_final_load():
    """The load average and the CPU state after the run, to judge the run's
    noise against those printed at its start."""
    load = load_average()
    if load is not None:
        print(f"load at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"CPU state at the end: {cpu_state()}")


def _product_milliseconds(left, right, out, repeats=40, rounds=3):
    np.matmul(left, right, out=out)
    fastest = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            np.matmul(left, right, out=out)
        fastest = min(fastest, (time.perf_counter() - start) / repeats)
    return 1e3 * fastest


def cpu_state(size=256, max_cpus=8):
    """How fast one float64 ``size`` x ``size`` product runs now, on numpy's
    BLAS threads, on one thread, and on one thread pinned to each CPU.

    On a shared virtual machine these move from minute to minute and from one
    CPU to the other, and every ratio of the run moves with them.
    """
    rng = np.random.default_rng(0)
    left, right = rng.standard_normal((2, size, size))
    out = np.empty((size, size))
    n_threads = numpy_blas_threads()
    all_threads = _product_milliseconds(left, right, out) if n_threads > 1 else None
    with threadpool_limits(1, user_api="blas"):
        one_thread = _product_milliseconds(left, right, out)
        pinned = []
        if hasattr(os, "sched_setaffinity"):
            allowed = os.sched_getaffinity(0)
            try:
                for cpu in sorted(allowed)[:max_cpus]:
                    os.sched_setaffinity(0, {cpu})
                    pinned.append((cpu, _product_milliseconds(left, right, out)))
            finally:
                os.sched_setaffinity(0, allowed)
    if all_threads is not None:
        text = (
            f"float64 {size}^3 product {all_threads:.2f} ms on {n_threads} BLAS "
            f"threads, {one_thread:.2f} ms on one (a "
            f"{one_thread / all_threads:.2f}x speed-up from the other threads)"
        )
    else:
        text = f"float64 {size}^3 product {one_thread:.2f} ms on one BLAS thread"
    if len(pinned) > 1:
        text += "; one thread pinned to " + ", ".join(
            f"CPU {cpu} {milliseconds:.2f} ms" for cpu, milliseconds in pinned
        )
    return text


def print_machine():
    """Print the CPU, the library versions and the thread pools."""
    usable = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    print(f"date:        {datetime.datetime.now().isoformat(timespec='minutes')}")
    print(f"CPU:         {_cpu_model()}")
    print(f"cores:       {os.cpu_count()} ({usable} usable by this process)")
    load = load_average()
    if load is not None:
        print(f"load:        {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)")
    print(f"platform:    {platform.platform()}, Python {platform.python_version()}")
    versions = [
        f"numpy {np.__version__}",
        f"scipy {scipy.__version__}",
        f"scikit-learn {sklearn.__version__}",
        f"sknormnet {sknormnet.__version__}",
        _torch_version(),
    ]
    print(f"versions:    {', '.join(versions)}")
    for info in threadpool_info():
        name = info.get("internal_api", "?")
        details = [f"{info['user_api']}: {name} {info.get('version') or ''}".rstrip()]
        if info.get("architecture"):
            details.append(f"architecture {info['architecture']}")
        if info.get("threading_layer"):
            details.append(f"threading {info['threading_layer']}")
        details.append(f"{info['num_threads']} threads")
        details.append(os.path.basename(info["filepath"]))
        print(f"thread pool: {', '.join(details)}")
    print(f"numpy BLAS threads: {numpy_blas_threads()}")
    print(f"CPU state:   {cpu_state()}")
    print()


def markdown_table(header, rows):
    """A markdown table, as text: one line per row, cells converted with str."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def timed(function, *args, **kwargs):
    """Seconds taken by ``function(*args, **kwargs)``, and its result."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def median(values):
    return statistics.median(values)


def verdict(ratio, limit, *, at_most=True):
    """ "PASS" or "FAIL" for ``ratio`` against its target ``limit``."""
    ok = ratio <= limit if at_most else ratio >= limit
    return "PASS" if ok else "FAIL"
