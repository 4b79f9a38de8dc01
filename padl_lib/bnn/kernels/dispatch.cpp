// The one select/dispatch point: which kernel table runs, chosen once from the CPU's features
// (or forced by name for tests), and the thread count of the threaded drivers.
#include <stdexcept>

#include "bnn.h"

namespace padl {
namespace {

bool supported(const Isa* isa) {
  if (isa == nullptr) return false;
  const std::string name = isa->name;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (name == "avx512")
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vpopcntdq");
  if (name == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
#endif
  return true;  // neon is baseline on aarch64; portable and reference run everywhere
}

std::vector<const Isa*> candidates() {  // best first
  return {isa_avx512(), isa_avx2(), isa_neon(), isa_portable(), isa_reference()};
}

const Isa* best() {
  for (const Isa* isa : candidates())
    if (supported(isa)) return isa;
  return isa_reference();
}

const Isa* g_active = best();
int g_threads = 1;

}  // namespace

const Isa& active_isa() { return *g_active; }

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const Isa* isa : candidates())
    if (supported(isa)) names.emplace_back(isa->name);
  return names;
}

void select_isa(const std::string& name) {
  if (name == "auto") {
    g_active = best();
    return;
  }
  for (const Isa* isa : candidates()) {
    if (isa && name == isa->name) {
      if (!supported(isa)) throw std::invalid_argument("this CPU does not support the '" + name + "' kernels");
      g_active = isa;
      return;
    }
  }
  throw std::invalid_argument("unknown kernel ISA '" + name + "' (try avx512, avx2, neon, portable, reference)");
}

void set_threads(int n) {
  if (n < 1) throw std::invalid_argument("thread count must be at least 1");
#ifdef _OPENMP
  g_threads = n;
#else
  g_threads = 1;  // built without OpenMP: the drivers run single-threaded
#endif
}

int threads() { return g_threads; }

}  // namespace padl
