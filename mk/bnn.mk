# BNN kernels: the aarch64 cross build (run under qemu-user by tests/arm) and the kernel benchmark.
.PHONY: kernels-arm test-arm kernel-bench

## make kernels-arm: cross-compile the BNN kernels' test driver for aarch64 (build/arm/kernel_driver)
kernels-arm: $(STAMP)
	$(PY) tests/arm/cross_build.py build/arm/kernel_driver

## make test-arm: the BNN kernels under qemu-aarch64, bit-exact against x86
test-arm: $(STAMP)
	PADL_QUICK=1 $(PY) -m pytest tests/arm $(PYTEST_ARGS)

## make kernel-bench: binary GEMM throughput per ISA against the theoretical ceiling
kernel-bench: $(STAMP)
	$(PY) -m padl_lib.bnn.kernel_bench
