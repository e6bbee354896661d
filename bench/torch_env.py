"""How the PyTorch comparison scripts in bench/ set up PyTorch's process, so that PyTorch runs at its best on
Debian and each script says what it ran on.

- Allocator: jemalloc (Debian's libjemalloc2) preloaded, told to keep freed pages. Its default returns freed
  pages after 10 s of decay, which at a training step's pace of frees and allocations still faults them in
  again; keeping them is what PyTorch's own caching would do.
- BLAS: Debian's PyTorch calls the system's libblas.so.3 (BLAS_INFO=generic), which with only libblas3
  installed is the reference BLAS, 20-50x slower on GEMMs. With `blas="openblas"` the script runs with
  OpenBLAS's OpenMP build first on the library path (libopenblas0-openmp; that build shares PyTorch's
  libgomp pool and follows torch.set_num_threads), without touching the system's BLAS alternative.
- Kernel: OpenBLAS picks its kernel for the CPU at start-up; on some CPUs it falls back to a generic one
  (seen on an Intel Xeon with AVX-512). `coretype` sets OPENBLAS_CORETYPE (for example SkylakeX) to force
  one, "auto" forces SkylakeX where the CPU has AVX-512 (F, BW, DQ, VL) and leaves the choice to OpenBLAS
  elsewhere (on AMD EPYC it picks its Haswell kernels); `openblas_core()` says which one runs.
- Packages: run as root, `arrange` installs what is missing (libjemalloc2, libopenblas0-openmp) with apt-get;
  otherwise it says which to install.

The loader reads these variables only when a process starts, so `arrange` re-executes the script once.
simile's own processes get the environment as it was (`child_env`): simile has its own allocator and no BLAS.
"""
import ctypes
import os
import subprocess
import sys

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"  # Debian's libopenblas0-openmp: libblas.so.3 in here
_MARK = "SIMILE_TORCH_ENV"  # set in the re-executed process
_ADDED = ("LD_PRELOAD", "MALLOC_CONF", "OPENBLAS_CORETYPE", _MARK)


def _install(script, package, path):
    """apt-get installs `package` when `path` is missing and this runs as root; True when `path` exists."""
    if not os.path.exists(path) and os.geteuid() == 0:
        print(f"{script}: installing {package} (apt-get)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package], stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
    return os.path.exists(path)


def _has_avx512():
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return all(f in flags for f in ("avx512f", "avx512bw", "avx512dq", "avx512vl"))


def arrange(script, allocator="jemalloc", blas="openblas", coretype=None):
    """Re-executes this script once with the allocator ("jemalloc" or "glibc"), the BLAS ("openblas" or
    "system") and the OpenBLAS kernel (None: its own choice; "auto": see above) asked for; returns in the
    re-executed process. What cannot be installed is said on stderr and left as the system has it."""
    if _MARK in os.environ:
        return
    env = dict(os.environ, **{_MARK: "1"})
    if coretype == "auto":
        coretype = "SkylakeX" if _has_avx512() else None
    if allocator == "jemalloc" and "jemalloc" not in env.get("LD_PRELOAD", ""):
        if _install(script, "libjemalloc2", JEMALLOC):
            env.update(LD_PRELOAD=JEMALLOC, MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1")
        else:
            print(f"{script}: {JEMALLOC} not found (apt-get install libjemalloc2); PyTorch runs on glibc malloc",
                  file=sys.stderr)
    if blas == "openblas":
        if _install(script, "libopenblas0-openmp", os.path.join(OPENBLAS, "libblas.so.3")):
            env["LD_LIBRARY_PATH"] = ":".join(filter(None, [OPENBLAS, env.get("LD_LIBRARY_PATH")]))
        else:
            print(f"{script}: {OPENBLAS} not found (apt-get install libopenblas0-openmp); PyTorch runs on the "
                  "system's libblas.so.3", file=sys.stderr)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def _mapped_blas():
    with open("/proc/self/maps") as f:
        return {line.split()[-1] for line in f if "libblas" in line or "libopenblas" in line}


def loaded_blas():
    """The BLAS this process mapped (PyTorch's): "openblas-openmp", "openblas-other", "reference" or the paths.
    Call it after `import torch`."""
    real = {os.path.realpath(p) for p in _mapped_blas()}
    if any("openblas" in p for p in real):
        return "openblas-" + ("openmp" if any("openblas-openmp" in p for p in real) else "other")
    return "reference" if any("/blas/" in p for p in real) else ",".join(sorted(real)) or "none"


def openblas_core():
    """The kernel OpenBLAS chose for this CPU (openblas_get_corename: "Haswell", "SkylakeX", "Zen", ...), or
    None when PyTorch's BLAS is not OpenBLAS."""
    for path in sorted(_mapped_blas()):
        if "openblas" not in os.path.realpath(path):
            continue
        lib = ctypes.CDLL(path)
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
    return None


def allocator():
    """The allocator this process runs on: "jemalloc" or "glibc"."""
    return "jemalloc" if "jemalloc" in os.environ.get("LD_PRELOAD", "") else "glibc"


def child_env():
    """The environment for simile's processes: this one without the preload, the allocator's settings, the
    OpenBLAS folder on the library path and OPENBLAS_CORETYPE."""
    env = {k: v for k, v in os.environ.items() if k not in _ADDED}
    path = env.get("LD_LIBRARY_PATH", "")
    if path.startswith(OPENBLAS):
        path = path[len(OPENBLAS):].lstrip(":")
        if path:
            env["LD_LIBRARY_PATH"] = path
        else:
            del env["LD_LIBRARY_PATH"]
    return env
