"""Build of padl's native BNN kernels (a pybind11 extension); everything else is in pyproject.toml.

One build runs everywhere: no -march flag; each x86 ISA file raises its own target with
`#pragma GCC target`, and `dispatch.cpp` picks the kernels the CPU supports at run time.
`-ffp-contract=off` keeps the float output transform (multiply, then add) bit-identical
across ISAs and compilers (no fused multiply-add on one side only).
"""
from pathlib import Path

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

KERNELS = Path("padl_lib/bnn/kernels")
sources = sorted(str(p) for p in KERNELS.glob("*.cpp"))

ext_modules = [
    Pybind11Extension(
        "padl_lib.bnn._kernels",
        sources,
        include_dirs=[str(KERNELS)],
        cxx_std=17,
        extra_compile_args=["-O3", "-fopenmp", "-ffp-contract=off"],
        extra_link_args=["-fopenmp"],
    )
] if sources else []

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})
