// kiln_sim.h: runs a generated CUDA kernel on the CPU for tests. One OS thread per CUDA thread, one block at
// a time, so __shared__ variables become function statics shared by the block's threads. Warp collectives
// (shuffles, ldmatrix, mma.sync) exchange values through a per-warp mailbox between two warp barriers, and
// cp.async copies are held back until the issuing thread waits for their group, so a read of shared memory
// before its wait (or a write-after-read race the wait would hide) shows up as wrong results.
// The fragment layouts are the PTX ISA's, as TileOps' doc comment lists them.
// Hopper's wgmma (WgmmaOps) runs per thread on its own accumulator fragment, reading A and B through the
// matrix descriptors (address, LBO, SBO, 128-byte swizzle of address bits 4-6 by bits 7-9) as the ISA's
// canonical layouts say. It is deferred like cp.async: an mma reads shared memory only when a
// wgmma.wait_group retires its group, so overwriting a tile still being read shows up as wrong results. The
// ordering rules are checked: wgmma.fence before a warpgroup's mmas after it touched the accumulators
// (i.e. after every wait), fence.proxy.async after this thread's cp.async data landed and before it issues
// wgmma, and no group in flight when the thread exits. wgmma.wait_group returns to the threads of a warpgroup
// together (the mma is one operation of the warpgroup). The TMA main loop's mbarriers and tensor copies are
// simulated too (after the TileOps section).
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <math.h>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define KILN_DYNAMIC_SMEM(name) unsigned char* name = kiln_sim::dyn_smem

struct KilnSimDim { unsigned x = 0, y = 0, z = 0; };
inline thread_local KilnSimDim threadIdx, blockIdx;
inline KilnSimDim blockDim{1, 1, 1}, gridDim{1, 1, 1};

template <class A, class B> inline std::common_type_t<A, B> min(A a, B b) { return a < b ? a : b; }
template <class A, class B> inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }

// ---- numeric types and conversions (cuda_fp16.h / cuda_bf16.h subset)
typedef _Float16 __half;
struct __half2 { __half x, y; };
struct __nv_bfloat16 { uint16_t b; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
inline float __half2float(__half h) { return (float)h; }
inline __half __float2half_rn(float f) { return (__half)f; }
inline __half __float2half(float f) { return (__half)f; }
inline __half2 __floats2half2_rn(float a, float b) { return {(__half)a, (__half)b}; }
inline float __bfloat162float(__nv_bfloat16 h) { uint32_t u = (uint32_t)h.b << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u; memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {(uint16_t)((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return {(uint16_t)(u >> 16)};
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)}; }
inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __saturatef(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldcg(const T* p) { return *p; }

// ---- the simulator's state
namespace kiln_sim {
inline std::barrier<>* block_bar = nullptr;
inline std::vector<std::unique_ptr<std::barrier<>>> warp_bars;
inline std::vector<std::unique_ptr<std::barrier<>>> wg_bars;  // per warpgroup (128 threads): wgmma.wait_group completes for all of them
inline std::vector<unsigned char> mailbox;  // [warp][lane][64 bytes]
inline std::vector<unsigned char> dyn_smem_buf;
inline unsigned char* dyn_smem = nullptr;

inline int tid() { return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }
inline int lane() { return tid() & 31; }
inline int warp() { return tid() >> 5; }
inline unsigned char* slot(int w, int l) { return &mailbox[((size_t)w * 32 + l) * 64]; }
inline void warp_sync() { warp_bars[warp()]->arrive_and_wait(); }
[[noreturn]] inline void fail(const char* what) { fprintf(stderr, "kiln_sim: %s (block %u,%u,%u thread %d)\n", what, blockIdx.x, blockIdx.y, blockIdx.z, tid()); fflush(stderr); std::_Exit(3); }

template <class T> T exchange(T v, int src) {
  static_assert(sizeof(T) <= 64, "mailbox slot is 64 bytes");
  int w = warp();
  memcpy(slot(w, lane()), &v, sizeof(T));
  warp_sync();
  T r; memcpy(&r, slot(w, src & 31), sizeof(T));
  warp_sync();
  return r;
}

struct Copy { void* dst; unsigned char data[16]; bool valid; };
inline thread_local std::vector<std::vector<Copy>> committed;
inline thread_local std::vector<Copy> open_group;
// wgmma state of this thread: mmas not yet committed, committed groups in flight, and the ordering flags
// rs: A came from registers (wgmma_rs): ra holds this thread's two rows of it, gathered from its quad at issue
struct Wgmma { float* d; int n; unsigned long long a, b; bool ta, tb; float (*cv)(uint32_t); long id; bool rs = false; float ra[2][16] = {}; };
// shared-memory byte ranges that issued, unretired wgmmas of the block will read: a cp.async into one fails
struct Reads { long id; unsigned lo, hi; };
inline std::mutex reads_mu;
inline std::vector<Reads> wg_reads;
inline long wg_next_id = 0;
inline thread_local std::vector<Wgmma> wg_open;
inline thread_local std::vector<std::vector<Wgmma>> wg_groups;
inline thread_local bool wg_fenced = false, proxy_dirty = false;
// mbarriers of the block (the TMA main loop), keyed by shared-memory offset: arrivals per phase, arrivals and
// transaction bytes still pending in this phase, phases completed
struct Mbar { unsigned count = 0, pending = 0; long long tx = 0; unsigned phase = 0; };
inline std::mutex mbar_mu;
inline std::condition_variable mbar_cv;
inline std::map<unsigned, Mbar> mbars;

inline float h2f(uint32_t bits) { uint16_t b = (uint16_t)bits; _Float16 h; memcpy(&h, &b, 2); return (float)h; }
inline float bf2f(uint32_t bits) { uint32_t u = (bits & 0xffffu) << 16; float f; memcpy(&f, &u, 4); return f; }

// Byte offset in shared memory of element (mn, k) (k < 16) of a wgmma operand, per its descriptor: the
// ISA's 128B-swizzle canonical layouts, K-major ((8,m),(T,2k)):((8T,SBO),(1,T)) and MN-major
// ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)) with T = 8 two-byte elements, then Swizzle<3,4,3> on the address.
inline unsigned wgmma_at(unsigned long long desc, int mn, int k, bool mnMajor) {
  unsigned start = (unsigned)(desc & 0x3FFF) << 4, lbo = (unsigned)((desc >> 16) & 0x3FFF) << 4, sbo = (unsigned)((desc >> 32) & 0x3FFF) << 4;
  if ((desc >> 62) != 1) fail("wgmma descriptor: only the 128-byte swizzle is simulated");
  if (((desc >> 49) & 7) != 0) fail("wgmma descriptor: base offset must be 0 (patterns start on 1024-byte boundaries)");
  unsigned a = mnMajor ? start + (mn / 64) * lbo + (mn % 64) * 2 + (k % 8) * 128 + (k / 8) * sbo
                       : start + (mn / 8) * sbo + (mn % 8) * 128 + k * 2;
  return a ^ (((a >> 7) & 7) << 4);
}

// D += A B for this thread's fragment of wgmma.mma_async m64nNk16: warp w%4 of the warpgroup holds rows
// 16(w%4) + g (+8), columns 8j + 2t (+1): d[4j + 2h + c] = D[16(w%4) + g + 8h][8j + 2t + c].
inline void wgmma_run(const Wgmma& op) {
  int wq = warp() & 3, l = lane(), g = l / 4, t = l % 4;
  for (int j = 0; j < op.n / 8; j++)
    for (int h = 0; h < 4; h++) {
      int row = 16 * wq + g + 8 * (h >> 1), col = 8 * j + 2 * t + (h & 1);
      float s = 0;
      for (int k = 0; k < 16; k++) {
        uint16_t x, y;
        memcpy(&y, dyn_smem + wgmma_at(op.b, col, k, op.tb), 2);
        if (op.rs) { s += op.ra[h >> 1][k] * op.cv(y); continue; }
        memcpy(&x, dyn_smem + wgmma_at(op.a, row, k, op.ta), 2);
        s += op.cv(x) * op.cv(y);
      }
      op.d[4 * j + h] += s;
    }
}

inline void wgmma(float* d, int n, unsigned long long a, unsigned long long b, bool ta, bool tb, float (*cv)(uint32_t)) {
  if (!wg_fenced) fail("wgmma.mma_async without wgmma.fence after the accumulators were last touched");
  if (proxy_dirty) fail("wgmma.mma_async after cp.async data landed without fence.proxy.async");
  std::lock_guard<std::mutex> lock(reads_mu);
  long id = wg_next_id++;
  for (int op = 0; op < 2; op++) {
    unsigned lo = ~0u, hi = 0;
    for (int mn = 0; mn < (op == 0 ? 64 : n); mn++)
      for (int k = 0; k < 16; k++) {
        unsigned at = wgmma_at(op == 0 ? a : b, mn, k, op == 0 ? ta : tb);
        lo = std::min(lo, at);
        hi = std::max(hi, at + 2);
      }
    if (hi > dyn_smem_buf.size() - (size_t)(dyn_smem - dyn_smem_buf.data())) fail("wgmma operand past the end of dynamic shared memory");
    wg_reads.push_back({id, lo, hi});
  }
  wg_open.push_back({d, n, a, b, ta, tb, cv, id});
}

// wgmma with A from registers (WgmmaOps.mmaRegA): the m16n8k16 A-fragment layout per warp. The quad's registers are
// exchanged now (the instruction is warp-collective), so A's values are those at issue, as on the GPU, where
// they must not change before the group retires; B is read at retirement like any wgmma operand.
inline void wgmma_rs(float* d, int n, const unsigned (&a)[4], unsigned long long b, bool tb, float (*cv)(uint32_t)) {
  if (!wg_fenced) fail("wgmma.mma_async without wgmma.fence after the accumulators were last touched");
  if (proxy_dirty) fail("wgmma.mma_async after cp.async data landed without fence.proxy.async");
  int w = warp(), l = lane(), g = l / 4;
  memcpy(slot(w, l), a, 16);
  warp_sync();
  Wgmma op{d, n, 0, b, false, tb, cv, 0, true};
  for (int t = 0; t < 4; t++) {
    unsigned q[4];
    memcpy(q, slot(w, 4 * g + t), 16);
    for (int r = 0; r < 4; r++) {
      op.ra[r & 1][2 * t + (r >> 1) * 8] = cv(q[r] & 0xffffu);
      op.ra[r & 1][2 * t + (r >> 1) * 8 + 1] = cv(q[r] >> 16);
    }
  }
  warp_sync();
  std::lock_guard<std::mutex> lock(reads_mu);
  op.id = wg_next_id++;
  unsigned lo = ~0u, hi = 0;
  for (int mn = 0; mn < n; mn++)
    for (int k = 0; k < 16; k++) {
      unsigned at = wgmma_at(b, mn, k, tb);
      lo = std::min(lo, at);
      hi = std::max(hi, at + 2);
    }
  if (hi > dyn_smem_buf.size() - (size_t)(dyn_smem - dyn_smem_buf.data())) fail("wgmma operand past the end of dynamic shared memory");
  wg_reads.push_back({op.id, lo, hi});
  wg_open.push_back(op);
}

inline void wgmma_retire(const Wgmma& op) {
  wgmma_run(op);
  std::lock_guard<std::mutex> lock(reads_mu);
  wg_reads.erase(std::remove_if(wg_reads.begin(), wg_reads.end(), [&](const Reads& r) { return r.id == op.id; }), wg_reads.end());
}

// D[16x8] += A[16x16] B[16x8]; cv turns one 16-bit element into float.
template <class Cv> void mma16816(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2], Cv cv) {
  int w = warp(), l = lane();
  memcpy(slot(w, l), a, 16);
  memcpy(slot(w, l) + 16, b, 8);
  warp_sync();
  float A[16][16], B[16][8];
  for (int L = 0; L < 32; L++) {
    unsigned aa[4], bb[2];
    memcpy(aa, slot(w, L), 16);
    memcpy(bb, slot(w, L) + 16, 8);
    int g = L / 4, t = L % 4;
    A[g][2 * t] = cv(aa[0]); A[g][2 * t + 1] = cv(aa[0] >> 16);
    A[g + 8][2 * t] = cv(aa[1]); A[g + 8][2 * t + 1] = cv(aa[1] >> 16);
    A[g][2 * t + 8] = cv(aa[2]); A[g][2 * t + 9] = cv(aa[2] >> 16);
    A[g + 8][2 * t + 8] = cv(aa[3]); A[g + 8][2 * t + 9] = cv(aa[3] >> 16);
    B[2 * t][g] = cv(bb[0]); B[2 * t + 1][g] = cv(bb[0] >> 16);
    B[2 * t + 8][g] = cv(bb[1]); B[2 * t + 9][g] = cv(bb[1] >> 16);
  }
  warp_sync();
  int g = l / 4, t = l % 4;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      float s = 0;
      for (int k = 0; k < 16; k++) s += A[g + 8 * i][k] * B[k][2 * t + j];
      d[2 * i + j] += s;
    }
}

inline void ldmatrix(unsigned* r, int count, const void* p, bool trans) {
  int w = warp(), l = lane();
  if (l < 8 * count && ((uintptr_t)p % 16) != 0) fail("ldmatrix row address not 16-byte aligned");
  memcpy(slot(w, l), &p, sizeof p);
  warp_sync();
  for (int j = 0; j < count; j++) {
    uint16_t lo, hi;
    const unsigned char *r0, *r1;
    if (!trans) {
      memcpy(&r0, slot(w, 8 * j + l / 4), sizeof r0);
      memcpy(&lo, r0 + 4 * (l % 4), 2);
      memcpy(&hi, r0 + 4 * (l % 4) + 2, 2);
    } else {
      memcpy(&r0, slot(w, 8 * j + 2 * (l % 4)), sizeof r0);
      memcpy(&r1, slot(w, 8 * j + 2 * (l % 4) + 1), sizeof r1);
      memcpy(&lo, r0 + 2 * (l / 4), 2);
      memcpy(&hi, r1 + 2 * (l / 4), 2);
    }
    r[j] = (unsigned)lo | (unsigned)hi << 16;
  }
  warp_sync();
}

/** Runs body() as grid x block threads, one block at a time; dynBytes of dynamic shared memory per block. */
inline void launch(KilnSimDim grid, KilnSimDim block, size_t dynBytes, const std::function<void()>& body) {
  gridDim = grid;
  blockDim = block;
  int n = (int)(block.x * block.y * block.z);
  if (n % 32 != 0) { fprintf(stderr, "kiln_sim: block of %d threads is not whole warps\n", n); std::_Exit(3); }
  mailbox.assign((size_t)n * 64, 0);
  wg_reads.clear();
  dyn_smem_buf.assign(dynBytes + 1024, 0);
  dyn_smem = dyn_smem_buf.data() + (1024 - (uintptr_t)dyn_smem_buf.data() % 1024) % 1024;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        // unwritten dynamic shared memory reads as NaN (0xff bytes) in every float type
        memset(dyn_smem, 0xff, dynBytes);
        mbars.clear();
        std::barrier<> bb(n);
        block_bar = &bb;
        warp_bars.clear();
        for (int w = 0; w < n / 32; w++) warp_bars.push_back(std::make_unique<std::barrier<>>(32));
        wg_bars.clear();
        for (int w = 0; w < (n + 127) / 128; w++) wg_bars.push_back(std::make_unique<std::barrier<>>(std::min(128, n - 128 * w)));
        std::vector<std::thread> ts;
        ts.reserve(n);
        for (int i = 0; i < n; i++)
          ts.emplace_back([&, i] {
            threadIdx = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
            blockIdx = {x, y, z};
            body();
            if (!open_group.empty() || !committed.empty()) { open_group.clear(); committed.clear(); }
            if (!wg_open.empty() || !wg_groups.empty()) fail("wgmma groups in flight (or uncommitted) at thread exit");
            wg_fenced = proxy_dirty = false;
            warp_bars[i / 32]->arrive_and_drop();
            wg_bars[i / 128]->arrive_and_drop();
            block_bar->arrive_and_drop();
          });
        for (auto& t : ts) t.join();
      }
}
}  // namespace kiln_sim

// ---- CUDA intrinsics over the simulator
inline void __syncthreads() { kiln_sim::block_bar->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) { kiln_sim::warp_sync(); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __nanosleep(unsigned) {}
template <class T> T __shfl_xor_sync(unsigned, T v, int m, int width = 32) { return kiln_sim::exchange(v, kiln_sim::lane() ^ m); }
inline int __any_sync(unsigned, int pred) {
  int a = pred != 0;
  for (int m = 1; m < 32; m <<= 1) a |= kiln_sim::exchange(a, kiln_sim::lane() ^ m);
  return a;
}
template <class T> T __shfl_sync(unsigned, T v, int src, int width = 32) {
  return kiln_sim::exchange(v, (kiln_sim::lane() & ~(width - 1)) + (src % width));
}
template <class T> T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  int l = kiln_sim::lane(), s = l + (int)delta;
  return kiln_sim::exchange(v, (s & ~(width - 1)) == (l & ~(width - 1)) ? s : l);
}
template <class T> T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  int l = kiln_sim::lane(), s = l - (int)delta;
  return kiln_sim::exchange(v, s >= 0 && (s & ~(width - 1)) == (l & ~(width - 1)) ? s : l);
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline int atomicCAS(int* p, int cmp, int v) { __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return cmp; }

// ---- TileOps under the simulator
inline void kiln_cp_async16(void* dst, const void* src, bool valid) {
  if ((uintptr_t)dst % 16 != 0) kiln_sim::fail("cp.async destination not 16-byte aligned");
  if (valid && (uintptr_t)src % 16 != 0) kiln_sim::fail("cp.async source not 16-byte aligned");
  {
    unsigned at = (unsigned)((unsigned char*)dst - kiln_sim::dyn_smem);
    std::lock_guard<std::mutex> lock(kiln_sim::reads_mu);
    for (auto& r : kiln_sim::wg_reads)
      if (at < r.hi && at + 16 > r.lo) kiln_sim::fail("cp.async into shared memory that a wgmma in flight still reads");
  }
  kiln_sim::Copy c{dst, {}, valid};
  if (valid) memcpy(c.data, src, 16);
  kiln_sim::open_group.push_back(c);
}
inline void kiln_cp_async_commit() {
  kiln_sim::committed.push_back(std::move(kiln_sim::open_group));
  kiln_sim::open_group.clear();
}
template <int N> void kiln_cp_async_wait() {
  auto& g = kiln_sim::committed;
  while (g.size() > (size_t)N) {
    for (auto& c : g.front()) {
      if (c.valid) memcpy(c.dst, c.data, 16); else memset(c.dst, 0, 16);
      kiln_sim::proxy_dirty = true;
    }
    g.erase(g.begin());
  }
}
inline unsigned kiln_smem(const void* p) {
  const unsigned char* c = (const unsigned char*)p;
  if (c < kiln_sim::dyn_smem || c >= kiln_sim::dyn_smem + kiln_sim::dyn_smem_buf.size()) kiln_sim::fail("kiln_smem of a pointer outside dynamic shared memory");
  return (unsigned)(c - kiln_sim::dyn_smem);  // the simulated shared window starts at the (1024-aligned) dynamic base
}
inline void kiln_wgmma_fence() { kiln_sim::wg_fenced = true; }
inline void kiln_wgmma_commit() {
  kiln_sim::wg_groups.push_back(std::move(kiln_sim::wg_open));
  kiln_sim::wg_open.clear();
}
template <int N> void kiln_wgmma_wait() {
  auto& g = kiln_sim::wg_groups;
  while (g.size() > (size_t)N) {
    for (auto& op : g.front()) kiln_sim::wgmma_retire(op);
    g.erase(g.begin());
  }
  kiln_sim::wg_fenced = false;  // the thread may touch its accumulators now: the next mma needs a fence
  // a wgmma is one operation of the whole warpgroup: once one thread is past the wait, every thread's part of
  // the retired groups has read its operands (one thread may then free their shared memory for the others)
  kiln_sim::wg_bars[kiln_sim::tid() / 128]->arrive_and_wait();
}
inline void kiln_fence_proxy_async() { kiln_sim::proxy_dirty = false; }
inline void kiln_ldmatrix_x4(unsigned (&r)[4], const void* p) { kiln_sim::ldmatrix(r, 4, p, false); }
inline void kiln_ldmatrix_x4_trans(unsigned (&r)[4], const void* p) { kiln_sim::ldmatrix(r, 4, p, true); }
inline void kiln_ldmatrix_x2(unsigned (&r)[2], const void* p) { kiln_sim::ldmatrix(r, 2, p, false); }
inline void kiln_ldmatrix_x2_trans(unsigned (&r)[2], const void* p) { kiln_sim::ldmatrix(r, 2, p, true); }
inline void kiln_mma_f16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) { kiln_sim::mma16816(d, a, b, kiln_sim::h2f); }
inline void kiln_mma_bf16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) { kiln_sim::mma16816(d, a, b, kiln_sim::bf2f); }
inline unsigned kiln_tf32(float x) {
  unsigned u = __float_as_uint(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // inf, NaN as they are
  return (u + 0x1000u) & 0xffffe000u;                // 10 mantissa bits, ties away from zero
}
inline void kiln_mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  using namespace kiln_sim;
  int w = warp(), l = lane();
  memcpy(slot(w, l), a, 16);
  memcpy(slot(w, l) + 16, b, 8);
  warp_sync();
  float A[16][8], B[8][8];
  for (int L = 0; L < 32; L++) {
    unsigned aa[4], bb[2];
    memcpy(aa, slot(w, L), 16);
    memcpy(bb, slot(w, L) + 16, 8);
    int g = L / 4, t = L % 4;
    A[g][t] = __uint_as_float(aa[0]); A[g + 8][t] = __uint_as_float(aa[1]);
    A[g][t + 4] = __uint_as_float(aa[2]); A[g + 8][t + 4] = __uint_as_float(aa[3]);
    B[t][g] = __uint_as_float(bb[0]); B[t + 4][g] = __uint_as_float(bb[1]);
  }
  warp_sync();
  int g = l / 4, t = l % 4;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      float s = 0;
      for (int k = 0; k < 8; k++) s += A[g + 8 * i][k] * B[k][2 * t + j];
      d[2 * i + j] += s;
    }
}
inline unsigned kiln_pack_f16(float lo, float hi) { __half2 h = __floats2half2_rn(lo, hi); unsigned r; memcpy(&r, &h, 4); return r; }
inline unsigned kiln_pack_bf16(float lo, float hi) { __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi); unsigned r; memcpy(&r, &h, 4); return r; }

// ---- the TMA main loop's operations (WgmmaOps.TMA_PRELUDE) under the simulator. An mbarrier lives in
// kiln_sim::mbars, not in its 8 bytes of shared memory; a wait blocks until the phase of the asked parity has
// completed (on a fresh barrier parity 1 counts as completed). A TMA copy runs when it is issued: it reads the
// box through the simulator's own tensor map (kiln_sim::Tmap, which the test driver fills where the GPU runtime
// encodes a CUtensorMap), writes it with the 128-byte swizzle of the shared address (bits 4-6 ^= bits 7-9),
// zeros outside the tensor, and completes its bytes on the barrier. A copy into shared memory that an issued
// wgmma still reads fails, as a cp.async does: that is what the empty barriers must prevent.
namespace kiln_sim {
struct Tmap { const unsigned char* base; unsigned long long inner, outer, stride; unsigned boxInner, boxOuter, elem, swizzle; };
static_assert(sizeof(Tmap) <= 128, "a tensor map is 128 bytes");
inline void tmap_set(unsigned char* at, const void* base, unsigned long long inner, unsigned long long outer, unsigned long long stride,
                     unsigned boxInner, unsigned boxOuter, unsigned elem, unsigned swizzle) {
  Tmap m{(const unsigned char*)base, inner, outer, stride, boxInner, boxOuter, elem, swizzle};
  memcpy(at, &m, sizeof m);
}
inline Mbar& mbar(unsigned bar) {  // mbar_mu held
  auto it = mbars.find(bar);
  if (it == mbars.end()) fail("mbarrier used before mbarrier.init");
  return it->second;
}
inline void mbar_settle(Mbar& b) {  // mbar_mu held: the phase completes once every arrival and every byte is in
  if (b.tx < 0) fail("TMA: more bytes landed than the barrier was told to expect");
  if (b.pending == 0 && b.tx == 0) { b.phase++; b.pending = b.count; mbar_cv.notify_all(); }
}
inline void mbar_arrive(unsigned bar, long long tx) {  // mbar_mu held
  Mbar& b = mbar(bar);
  if (b.pending == 0) fail("mbarrier: more arrivals than its count in one phase");
  b.pending--;
  b.tx += tx;
  mbar_settle(b);
}
}  // namespace kiln_sim
inline void kiln_mbar_init(unsigned bar, unsigned count) {
  std::lock_guard<std::mutex> l(kiln_sim::mbar_mu);
  kiln_sim::mbars[bar] = kiln_sim::Mbar{count, count, 0, 0};
}
inline void kiln_mbar_init_fence() {}
inline void kiln_mbar_expect_tx(unsigned bar, unsigned bytes) {
  std::lock_guard<std::mutex> l(kiln_sim::mbar_mu);
  kiln_sim::mbar_arrive(bar, bytes);
}
inline void kiln_mbar_arrive(unsigned bar) {
  std::lock_guard<std::mutex> l(kiln_sim::mbar_mu);
  kiln_sim::mbar_arrive(bar, 0);
}
inline void kiln_mbar_wait(unsigned bar, unsigned parity) {
  std::unique_lock<std::mutex> l(kiln_sim::mbar_mu);
  kiln_sim::mbar_cv.wait(l, [&] { return (kiln_sim::mbar(bar).phase & 1u) != (parity & 1u); });
}
inline void kiln_tma_prefetch(const void*) {}
inline void kiln_tma_load_2d(unsigned dst, const void* map, unsigned bar, int c0, int c1) {
  using namespace kiln_sim;
  Tmap m;
  memcpy(&m, map, sizeof m);
  if (m.swizzle != 128 || m.boxInner * m.elem != 128) fail("TMA: only boxes of 128-byte rows with the 128-byte swizzle are simulated");
  if (dst % 1024 != 0) fail("TMA destination not on a 1024-byte boundary (where the 128-byte swizzle pattern starts)");
  unsigned bytes = m.boxInner * m.boxOuter * m.elem;
  if (dst + bytes > dyn_smem_buf.size()) fail("TMA copy past the end of shared memory");
  {
    std::lock_guard<std::mutex> lock(reads_mu);
    for (auto& r : wg_reads)
      if (dst < r.hi && dst + bytes > r.lo) fail("TMA copy into shared memory that a wgmma in flight still reads");
  }
  for (unsigned r = 0; r < m.boxOuter; r++)
    for (unsigned e = 0; e < m.boxInner; e++) {
      long long gi = (long long)c0 + e, go = (long long)c1 + r;
      unsigned lin = dst + r * 128 + e * m.elem, at = lin ^ (((lin >> 7) & 7u) << 4);
      if (gi >= 0 && go >= 0 && (unsigned long long)gi < m.inner && (unsigned long long)go < m.outer)
        memcpy(dyn_smem + at, m.base + go * m.stride + gi * m.elem, m.elem);
      else
        memset(dyn_smem + at, 0, m.elem);
    }
  std::lock_guard<std::mutex> l(mbar_mu);
  Mbar& b = mbar(bar);
  b.tx -= bytes;
  mbar_settle(b);
}
template <int N> inline void kiln_setmaxnreg_inc() {}
template <int N> inline void kiln_setmaxnreg_dec() {}
// named barrier ID over N threads: the block's barrier, which the threads that returned (the producer) have left
template <int ID, int N> inline void kiln_bar_sync() { kiln_sim::block_bar->arrive_and_wait(); }

/** A buffer handed to a kernel parameter of any pointer type. */
struct KilnSimPtr {
  void* p;
  template <class T> operator T*() const { return (T*)p; }
};
