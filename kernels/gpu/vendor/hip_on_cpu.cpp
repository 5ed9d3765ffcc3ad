/*
 * The runtime of elattn's HIP-on-CPU layer (hip_on_cpu.h says what it models).
 *
 * A grid: its blocks are shared out among a few OS threads (workers). A block: one fiber per
 * thread, all on the worker's OS thread, run in turn by a scheduler loop; a fiber runs until it
 * waits (a barrier, a shuffle, __nanosleep) or ends. Barriers count arrivals against the
 * threads still running, as the hardware does for exited threads.
 *
 * The device it presents mirrors an H200's limits (132 multiprocessors, 48 KB of shared memory
 * per block, 227 KB with the opt-in), so the backend's plans (split-KV chunks, tiles) are the
 * ones it makes on that GPU.
 */
#include "hip_on_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if !defined(__x86_64__)
#  include <ucontext.h>
#endif

namespace {

constexpr int kMultiprocessors = 132;
constexpr size_t kSharedPerBlock = 48 * 1024;
constexpr size_t kSharedOptin = 227 * 1024;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr int kWarp = 32;
constexpr size_t kFiberStack = 256 * 1024; /* plus a guard page below it */
constexpr size_t kMemory = size_t(16) << 30; /* what the device reports; allocations are host memory */

thread_local hipError_t last_error = hipSuccess;

hipError_t fail(hipError_t e)
{
    last_error = e;
    return e;
}

/* ---- memory: hipMalloc's allocations, so copies and wraps can be checked ------------------ */
std::mutex memory_lock;
std::map<uintptr_t, size_t> allocations; /* base -> bytes */

/* The allocation holding [p, p + bytes), or false. */
bool find_allocation(const void *p, size_t bytes, uintptr_t *base, size_t *size)
{
    std::lock_guard<std::mutex> hold(memory_lock);
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = allocations.upper_bound(a);
    if (it == allocations.begin()) return false;
    --it;
    if (a - it->first >= it->second && !(bytes == 0 && a - it->first == it->second)) return false;
    if (bytes > it->second - (a - it->first)) return false;
    if (base) *base = it->first;
    if (size) *size = it->second;
    return true;
}

/* A copy's device side must lie inside one allocation: anything else is a bug in the caller. */
hipError_t check_device_range(const void *p, size_t bytes, const char *what)
{
    if (bytes == 0 || find_allocation(p, bytes, nullptr, nullptr)) return hipSuccess;
    fprintf(stderr, "elattn HIP-on-CPU: %s [%p, +%zu) is not inside one hipMalloc allocation\n", what, p, bytes);
    return fail(hipErrorInvalidValue);
}

/* ---- fibers ------------------------------------------------------------------------------ */
#if defined(__x86_64__)
/* Saves the callee-saved registers on the current stack, stores its pointer in *save, then
 * continues on the stack `next` (which a switch saved, or prepare_stack laid out). */
extern "C" void elattn_emu_switch(void **save, void *next);
asm(R"(
    .text
    .p2align 4
    .hidden elattn_emu_switch
    .globl elattn_emu_switch
    .type elattn_emu_switch, @function
elattn_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size elattn_emu_switch, .-elattn_emu_switch
)");
#endif

enum class wait_state { running, block_barrier, warp_barrier, sleeping };

/* A thread's coordinates: the scheduler copies them into threadIdx.. before resuming it. */
struct thread_coords {
    dim3 thread_idx, block_idx, block_dim, grid_dim;
};

/* A cp.async copy in flight: its bytes were read at issue, they land at the wait covering it. */
struct async_copy {
    uint32_t dst;
    unsigned group;
    unsigned char bytes[16];
};

struct fiber {
    thread_coords coords;
    std::vector<async_copy> copies; /* oldest first */
    unsigned groups_committed = 0;
    int warp = 0, lane = 0;
    bool done = false;
    wait_state state = wait_state::running;
    char *stack = nullptr; /* the usable stack's lowest byte; a guard page lies below */
#if defined(__x86_64__)
    void *sp = nullptr;
#else
    ucontext_t context;
#endif
};

struct warp_state {
    int live = 0, arrived = 0;
    unsigned generation = 0;
    uint64_t slots[kWarp];
};

/* A worker's block: its fibers (stacks kept across blocks and launches), barriers, and the
 * dynamic shared memory. */
struct block_run {
    std::vector<fiber> fibers;
    std::vector<int> order; /* this round's order of the threads */
    int count = 0, live = 0, current = 0;
    uint64_t progress = 0; /* arrivals, releases and ends: what a deadlock lacks */
    int block_arrived = 0;
    unsigned block_generation = 0;
    const char *block_site = nullptr;
    warp_state warps[kMaxThreadsPerBlock / kWarp];
    unsigned char *shared = nullptr; /* the launch's dynamic shared memory */
    size_t shared_bytes = 0;
    elattn_emu::grid_body *body = nullptr;
    std::string fault; /* the first thing this block did wrong */
#if defined(__x86_64__)
    void *scheduler_sp = nullptr;
#else
    ucontext_t scheduler;
#endif
};

/* Workers' block states, kept for the next launch (their fiber stacks are the expensive part).
 * The pool lives as long as the process (never destroyed at exit, so it stays reachable). */
std::mutex pool_lock;
std::vector<block_run *> &pool()
{
    static std::vector<block_run *> *kept = new std::vector<block_run *>();
    return *kept;
}

block_run *take_run()
{
    std::lock_guard<std::mutex> hold(pool_lock);
    if (pool().empty()) return new block_run();
    block_run *r = pool().back();
    pool().pop_back();
    return r;
}

void give_run(block_run *r)
{
    std::lock_guard<std::mutex> hold(pool_lock);
    pool().push_back(r);
}

thread_local block_run *running = nullptr; /* the block this OS thread runs now */

fiber &me() { return running->fibers[running->current]; }

void switch_to_scheduler()
{
    block_run &b = *running;
#if defined(__x86_64__)
    elattn_emu_switch(&b.fibers[b.current].sp, b.scheduler_sp);
#else
    swapcontext(&b.fibers[b.current].context, &b.scheduler);
#endif
}

void note_fault(block_run &b, const std::string &what)
{
    if (!b.fault.empty()) return;
    const thread_coords &c = b.fibers[b.current].coords;
    char where[160];
    snprintf(where, sizeof where, "block (%u,%u,%u) thread (%u,%u,%u): ", c.block_idx.x, c.block_idx.y,
             c.block_idx.z, c.thread_idx.x, c.thread_idx.y, c.thread_idx.z);
    b.fault = where + what;
}

/* Releases whichever barriers the threads still running have all reached. */
void release_complete_barriers(block_run &b)
{
    if (b.block_arrived > 0 && b.block_arrived >= b.live) {
        b.block_arrived = 0;
        ++b.block_generation;
        ++b.progress;
    }
    for (int w = 0; w < (b.count + kWarp - 1) / kWarp; ++w) {
        warp_state &ws = b.warps[w];
        if (ws.arrived > 0 && ws.arrived >= ws.live) {
            ws.arrived = 0;
            ++ws.generation;
            ++b.progress;
        }
    }
}

void fiber_main()
{
    block_run &b = *running;
    b.body->run_thread();
    fiber &f = b.fibers[b.current];
    f.done = true;
    --b.live;
    --b.warps[f.warp].live;
    ++b.progress;
    release_complete_barriers(b);
    switch_to_scheduler();
    abort(); /* a finished fiber is never resumed */
}

#if !defined(__x86_64__)
void fiber_trampoline() { fiber_main(); }
#endif

char *new_stack()
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(nullptr, kFiberStack + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) return nullptr;
    mprotect(p, page, PROT_NONE); /* an overflow faults instead of writing into another stack */
    return static_cast<char *>(p) + page;
}

/* Lays out f's stack so that the first switch to it "returns" into fiber_main. */
bool prepare_fiber(block_run &b, fiber &f)
{
    if (!f.stack && !(f.stack = new_stack())) return false;
#if defined(__x86_64__)
    uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + kFiberStack) & ~uintptr_t(15);
    void **frame = reinterpret_cast<void **>(top);
    *--frame = nullptr;                                  /* fiber_main's return address: never used */
    *--frame = reinterpret_cast<void *>(&fiber_main);    /* where the switch's ret goes */
    for (int r = 0; r < 6; ++r) *--frame = nullptr;      /* rbp rbx r12 r13 r14 r15 */
    f.sp = frame;
    (void)b;
#else
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = kFiberStack;
    f.context.uc_link = &b.scheduler;
    makecontext(&f.context, fiber_trampoline, 0);
#endif
    return true;
}

/* The emulation's two switches (backends/gpu/README.md), read once from the environment: unset or
 * `off` is 0, `on` is 1, any other value -1, which refuses every launch.
 *   ELATTN_EMU_SKEW=1: each round, each warp sits out with probability 1/2, so warps drift apart
 *     between block barriers as they do on a GPU. Without it every thread passes the same number of
 *     switch points per round and the warps keep in step, which hides a warp that writes shared
 *     memory (a cp.async issue, a store) that a slower warp has still to read.
 *   ELATTN_EMU_CP_ASYNC: when a cp.async copy lands in shared memory. A GPU lands it at some time
 *     between the issue and the wait that covers it; each value takes one end of that span, and each
 *     catches what the other hides. `wait` (default): a read of the slot before that wait sees the
 *     old bytes. `issue`: a copy issued into a slot that other threads have still to read (no
 *     barrier between their last read and the issue) changes what they read. */
struct emu_switch {
    const char *name, *off, *on;
    int value;
};
emu_switch read_switch(const char *name, const char *off, const char *on)
{
    const char *e = getenv(name);
    return {name, off, on, !e || !strcmp(e, off) ? 0 : !strcmp(e, on) ? 1 : -1};
}
const emu_switch warp_skew = read_switch("ELATTN_EMU_SKEW", "0", "1");
const emu_switch cp_async_at_issue = read_switch("ELATTN_EMU_CP_ASYNC", "wait", "issue");

/* Runs one block to its end (or to a deadlock, recorded as its fault). */
void run_block(block_run &b, dim3 grid, dim3 block, dim3 block_idx, size_t shared_bytes, uint64_t seed)
{
    const int n = (int)(block.x * block.y * block.z);
    if ((int)b.fibers.size() < n) b.fibers.resize((size_t)n);
    b.count = b.live = n;
    b.block_arrived = 0;
    b.block_site = nullptr;
    for (int w = 0; w < (n + kWarp - 1) / kWarp; ++w) {
        b.warps[w].live = std::min(kWarp, n - w * kWarp);
        b.warps[w].arrived = 0;
    }
    b.shared_bytes = shared_bytes;
    memset(b.shared, 0xff, shared_bytes); /* NaN in every dtype, like memory no one wrote */
    for (int t = 0; t < n; ++t) {
        fiber &f = b.fibers[(size_t)t];
        f.coords.thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
        f.coords.block_idx = block_idx;
        f.coords.block_dim = block;
        f.coords.grid_dim = grid;
        f.warp = t / kWarp;
        f.lane = t % kWarp;
        f.done = false;
        f.state = wait_state::running;
        f.copies.clear();
        f.groups_committed = 0;
        if (!prepare_fiber(b, f)) {
            b.fault = "no memory for a fiber stack";
            return;
        }
    }
    /* Each round runs the threads in a new pseudo-random order: code that is right only when
     * lower threads run first (a missing barrier, two threads writing one place) fails here as
     * it may on a GPU. Seeded by the block and the launch, so a run repeats exactly. */
    uint64_t rng = seed ^ (0x9e3779b97f4a7c15ull * (1 + block_idx.x + 65536ull * (block_idx.y + 65536ull * block_idx.z)));
    if ((int)b.order.size() < n) b.order.resize((size_t)n);
    for (int t = 0; t < n; ++t) b.order[(size_t)t] = t;
    const auto started = std::chrono::steady_clock::now();
    const int warps = (n + kWarp - 1) / kWarp;
    bool held_round_stalled = false;
    while (b.live > 0) {
        const uint64_t before = b.progress;
        bool sleeping = false;
        for (int t = n - 1; t > 0; --t) { /* Fisher-Yates with xorshift64 */
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            std::swap(b.order[(size_t)t], b.order[(size_t)(rng % (uint64_t)(t + 1))]);
        }
        uint64_t held = 0; /* warps that sit this round out; none after a round in which holding stalled all */
        if (warps > 1 && warp_skew.value == 1 && !held_round_stalled) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            held = (rng >> 11) & ((1ull << warps) - 1); /* warps <= 32 */
        }
        for (int k = 0; k < n; ++k) {
            const int t = b.order[(size_t)k];
            fiber &f = b.fibers[(size_t)t];
            if (f.done || (held >> f.warp & 1)) continue;
            b.current = t;
            threadIdx = f.coords.thread_idx;
            blockIdx = f.coords.block_idx;
            blockDim = f.coords.block_dim;
            gridDim = f.coords.grid_dim;
#if defined(__x86_64__)
            elattn_emu_switch(&b.scheduler_sp, f.sp);
#else
            swapcontext(&b.scheduler, &f.context);
#endif
            sleeping = sleeping || f.state == wait_state::sleeping;
        }
        held_round_stalled = held != 0 && b.progress == before; /* the running warps wait on held ones */
        if (b.progress != before || held_round_stalled) continue;
        /* Nothing arrived, was released or ended in a whole round. */
        if (!sleeping) {
            b.current = 0;
            note_fault(b, "deadlock: the block's threads wait at barriers or shuffles that can never complete");
            return;
        }
        if (std::chrono::steady_clock::now() - started > std::chrono::seconds(60)) {
            b.current = 0;
            note_fault(b, "a __nanosleep wait made no progress for 60 s");
            return;
        }
    }
}

std::map<const void *, int> shared_optin; /* kernel -> bytes allowed by hipFuncSetAttribute */
std::mutex optin_lock;

} /* namespace */

/* ---- the device built-ins' side ---------------------------------------------------------- */
thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace elattn_emu {

void sync_block(const char *site)
{
    block_run &b = *running;
    if (b.block_arrived == 0)
        b.block_site = site;
    else if (site != b.block_site && strcmp(site, b.block_site) != 0)
        note_fault(b, std::string("threads met at two different __syncthreads: ") + b.block_site + " and " + site);
    const unsigned generation = b.block_generation;
    ++b.block_arrived;
    ++b.progress;
    release_complete_barriers(b);
    fiber &f = me();
    while (b.block_generation == generation) {
        f.state = wait_state::block_barrier;
        switch_to_scheduler();
    }
    f.state = wait_state::running;
}

static void warp_barrier(block_run &b, fiber &f)
{
    warp_state &w = b.warps[f.warp];
    const unsigned generation = w.generation;
    ++w.arrived;
    ++b.progress;
    release_complete_barriers(b);
    while (w.generation == generation) {
        f.state = wait_state::warp_barrier;
        switch_to_scheduler();
    }
    f.state = wait_state::running;
}

uint64_t warp_exchange(uint64_t mine, int src_lane)
{
    block_run &b = *running;
    fiber &f = me();
    warp_state &w = b.warps[f.warp];
    w.slots[f.lane] = mine;
    warp_barrier(b, f);
    uint64_t value = mine;
    const int src = f.warp * kWarp + src_lane;
    if (src_lane < 0 || src_lane >= kWarp || src >= b.count || b.fibers[(size_t)src].done)
        note_fault(b, "a shuffle reads lane " + std::to_string(src_lane) + ", which does not run");
    else
        value = w.slots[src_lane];
    warp_barrier(b, f); /* no lane writes its slot again before every lane has read */
    return value;
}

void warp_gather(uint64_t mine, uint64_t all[32])
{
    block_run &b = *running;
    fiber &f = me();
    warp_state &w = b.warps[f.warp];
    w.slots[f.lane] = mine;
    warp_barrier(b, f);
    const int first = f.warp * kWarp;
    if (first + kWarp > b.count || w.live != kWarp)
        note_fault(b, "a warp collective (mma, ldmatrix, __any_sync) with fewer than 32 lanes running");
    memcpy(all, w.slots, sizeof w.slots);
    warp_barrier(b, f);
}

/* ---- sm_80 instructions ------------------------------------------------------------------- */
uint32_t shared_offset(const void *p)
{
    block_run &b = *running;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p), base = reinterpret_cast<uintptr_t>(b.shared);
    if (a < base || a - base > b.shared_bytes) {
        note_fault(b, "a shared-memory address outside the block's dynamic shared memory");
        return 0;
    }
    return (uint32_t)(a - base);
}

/* The block's dynamic shared memory at [offset, offset + bytes), or a fault and nullptr. */
static unsigned char *shared_span(block_run &b, uint32_t offset, size_t bytes, const char *what)
{
    if ((size_t)offset + bytes > b.shared_bytes) {
        note_fault(b, std::string(what) + " past the end of the block's dynamic shared memory (offset " +
                          std::to_string(offset) + " of " + std::to_string(b.shared_bytes) + " bytes)");
        return nullptr;
    }
    return b.shared + offset;
}

void cp_async_16(uint32_t dst, const void *src, bool valid)
{
    fiber &f = me();
    if (cp_async_at_issue.value == 1) { /* lands now (read_switch's comment) */
        unsigned char *d = shared_span(*running, dst, 16, "a cp.async copy");
        if (d) {
            if (valid)
                memcpy(d, src, 16);
            else
                memset(d, 0, 16);
        }
        return;
    }
    async_copy c;
    c.dst = dst;
    c.group = f.groups_committed; /* the open group */
    if (valid)
        memcpy(c.bytes, src, 16);
    else
        memset(c.bytes, 0, 16);
    f.copies.push_back(c);
}

void cp_async_commit() { ++me().groups_committed; }

void cp_async_wait(int most_pending)
{
    block_run &b = *running;
    fiber &f = me();
    /* Committed groups g with g + most_pending < groups_committed have landed. */
    size_t landed = 0;
    while (landed < f.copies.size() && f.copies[landed].group + (unsigned)most_pending < f.groups_committed) {
        unsigned char *d = shared_span(b, f.copies[landed].dst, 16, "a cp.async copy");
        if (d) memcpy(d, f.copies[landed].bytes, 16);
        ++landed;
    }
    f.copies.erase(f.copies.begin(), f.copies.begin() + (std::ptrdiff_t)landed);
}

void ldmatrix_x4(uint32_t r[4], uint32_t addr, bool transposed)
{
    block_run &b = *running;
    const int lane = me().lane;
    uint64_t rows[32];
    if (addr % 16) note_fault(b, "ldmatrix: a row address that is not 16-byte aligned");
    warp_gather(addr, rows); /* lanes 8i..8i+7 name the rows of matrix i */
    for (int i = 0; i < 4; ++i) {
        uint32_t v = 0;
        if (!transposed) { /* row lane/4, columns 2(lane%4) and +1 */
            const unsigned char *row = shared_span(b, (uint32_t)rows[8 * i + lane / 4], 16, "ldmatrix");
            if (row) memcpy(&v, row + 4 * (lane % 4), 4);
        } else { /* column lane/4 of rows 2(lane%4) and +1 */
            const unsigned char *r0 = shared_span(b, (uint32_t)rows[8 * i + 2 * (lane % 4)], 16, "ldmatrix");
            const unsigned char *r1 = shared_span(b, (uint32_t)rows[8 * i + 2 * (lane % 4) + 1], 16, "ldmatrix");
            uint16_t lo = 0, hi = 0;
            if (r0) memcpy(&lo, r0 + 2 * (lane / 4), 2);
            if (r1) memcpy(&hi, r1 + 2 * (lane / 4), 2);
            v = (uint32_t)lo | ((uint32_t)hi << 16);
        }
        r[i] = v;
    }
}

static float widen16(uint32_t bits, bool bf16)
{
    return bf16 ? __builtin_bit_cast(float, bits << 16) : (float)__builtin_bit_cast(_Float16, (uint16_t)bits);
}

/* D = A B + C for m16n8k16, row.col; fragments as the PTX ISA lays them out: with g = lane / 4
 * and t = lane % 4, a[0..3] hold A's (g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..);
 * b0, b1 B's (2t..2t+1, g), (2t+8.., g); c[0..3] (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1).
 * Products are exact in fp32 (16-bit inputs); the sum is taken in double, then rounded once. */
void mma_16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1, bool bf16)
{
    const int lane = me().lane;
    uint64_t a01[32], a23[32], bb[32];
    warp_gather((uint64_t)a[0] | ((uint64_t)a[1] << 32), a01);
    warp_gather((uint64_t)a[2] | ((uint64_t)a[3] << 32), a23);
    warp_gather((uint64_t)b0 | ((uint64_t)b1 << 32), bb);
    float A[16][16], B[16][8];
    for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        const uint32_t frag[4] = {(uint32_t)a01[l], (uint32_t)(a01[l] >> 32), (uint32_t)a23[l],
                                  (uint32_t)(a23[l] >> 32)};
        for (int h = 0; h < 2; ++h) {
            A[g][2 * t + h] = widen16(frag[0] >> (16 * h) & 0xffffu, bf16);
            A[g + 8][2 * t + h] = widen16(frag[1] >> (16 * h) & 0xffffu, bf16);
            A[g][2 * t + 8 + h] = widen16(frag[2] >> (16 * h) & 0xffffu, bf16);
            A[g + 8][2 * t + 8 + h] = widen16(frag[3] >> (16 * h) & 0xffffu, bf16);
            B[2 * t + h][g] = widen16((uint32_t)bb[l] >> (16 * h) & 0xffffu, bf16);
            B[2 * t + 8 + h][g] = widen16((uint32_t)(bb[l] >> 32) >> (16 * h) & 0xffffu, bf16);
        }
    }
    const int g = lane / 4, t = lane % 4;
    const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int j = 0; j < 4; ++j) {
        double sum = c[j];
        for (int k = 0; k < 16; ++k) sum += (double)A[rows[j]][k] * (double)B[k][cols[j]];
        c[j] = (float)sum;
    }
}

void yield_fiber()
{
    fiber &f = me();
    f.state = wait_state::sleeping;
    switch_to_scheduler();
    f.state = wait_state::running;
}

int lane_id() { return me().lane; }

void *dynamic_shared() { return running->shared; }

void run_grid(const void *kernel, dim3 grid, dim3 block, size_t shared_bytes, hipStream_t stream, grid_body &body)
{
    (void)stream; /* every stream is synchronous */
    const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
    const unsigned long long blocks = (unsigned long long)grid.x * grid.y * grid.z;
    size_t allowed = kSharedPerBlock;
    {
        std::lock_guard<std::mutex> hold(optin_lock);
        auto it = shared_optin.find(kernel);
        if (it != shared_optin.end()) allowed = std::max(allowed, (size_t)it->second);
    }
    const char *bad = threads == 0 || threads > kMaxThreadsPerBlock ? "block size"
                      : blocks == 0 || grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu ? "grid size"
                      : shared_bytes > allowed ? "dynamic shared memory (over the kernel's opt-in)"
                                               : nullptr;
    for (const emu_switch *sw : {&warp_skew, &cp_async_at_issue})
        if (!bad && sw->value < 0) {
            fprintf(stderr, "elattn HIP-on-CPU: launch refused: %s is \"%s\"; expected \"%s\" or \"%s\"\n", sw->name,
                    getenv(sw->name), sw->off, sw->on);
            fail(hipErrorInvalidValue);
            return;
        }
    if (bad) {
        fprintf(stderr, "elattn HIP-on-CPU: launch refused: %s (grid %u x %u x %u, block %u x %u x %u, %zu bytes)\n",
                bad, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes);
        fail(hipErrorInvalidValue);
        return;
    }
    /* ELATTN_EMU_SEED (an integer) picks another sequence of thread orders: a sweep over seeds
     * looks for code that is right in some orders only. */
    static const uint64_t base_seed = [] {
        const char *e = getenv("ELATTN_EMU_SEED");
        return e ? strtoull(e, nullptr, 10) * 0xd1b54a32d192ed03ull : 0;
    }();
    static std::atomic<uint64_t> launches{0};
    const uint64_t seed = base_seed + ++launches;
    std::atomic<unsigned long long> next{0};
    std::mutex fault_lock;
    std::string fault;
    auto work = [&]() {
        block_run *b = take_run();
        /* Exactly the launch's bytes, for this launch: under ASan a kernel's access past its
         * dynamic shared memory is reported. */
        void *shared = nullptr;
        if (posix_memalign(&shared, 128, std::max<size_t>(shared_bytes, 1)) != 0) shared = nullptr;
        b->shared = static_cast<unsigned char *>(shared);
        b->body = &body;
        running = b;
        if (!shared) {
            std::lock_guard<std::mutex> hold(fault_lock);
            if (fault.empty()) fault = "no host memory for the dynamic shared memory";
            next.store(blocks);
        }
        for (unsigned long long i; (i = next.fetch_add(1)) < blocks;) {
            const dim3 idx((unsigned)(i % grid.x), (unsigned)((i / grid.x) % grid.y), (unsigned)(i / grid.x / grid.y));
            b->fault.clear();
            run_block(*b, grid, block, idx, shared_bytes, seed);
            if (!b->fault.empty()) {
                std::lock_guard<std::mutex> hold(fault_lock);
                if (fault.empty()) fault = b->fault;
                next.store(blocks); /* stop handing out blocks */
            }
        }
        running = nullptr;
        free(b->shared);
        b->shared = nullptr;
        give_run(b);
    };
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned long long workers = std::min<unsigned long long>(std::min(cores, 8u), blocks);
    if (workers <= 1) {
        work();
    } else {
        std::vector<std::thread> pool_threads;
        for (unsigned long long w = 0; w < workers; ++w) pool_threads.emplace_back(work);
        for (std::thread &t : pool_threads) t.join();
    }
    if (!fault.empty()) {
        fprintf(stderr, "elattn HIP-on-CPU: kernel fault: %s\n", fault.c_str());
        fail(hipErrorLaunchFailure);
    }
}

} /* namespace elattn_emu */

/* ---- the runtime API ---------------------------------------------------------------------- */
struct elattn_emu_stream {
    unsigned flags;
};
struct elattn_emu_event {
    std::chrono::steady_clock::time_point at;
    bool recorded;
};

const char *hipGetErrorName(hipError_t e)
{
    switch (e) {
    case hipSuccess: return "hipSuccess";
    case hipErrorInvalidValue: return "hipErrorInvalidValue";
    case hipErrorOutOfMemory: return "hipErrorOutOfMemory";
    case hipErrorNoDevice: return "hipErrorNoDevice";
    case hipErrorInsufficientDriver: return "hipErrorInsufficientDriver";
    case hipErrorLaunchFailure: return "hipErrorLaunchFailure";
    }
    return "unknown hipError_t";
}

const char *hipGetErrorString(hipError_t e)
{
    switch (e) {
    case hipSuccess: return "no error";
    case hipErrorInvalidValue: return "invalid argument";
    case hipErrorOutOfMemory: return "out of memory";
    case hipErrorNoDevice: return "no device";
    case hipErrorInsufficientDriver: return "insufficient driver";
    case hipErrorLaunchFailure: return "kernel fault in the CPU emulation (the message above says which)";
    }
    return "unknown error";
}

hipError_t hipGetLastError(void)
{
    const hipError_t e = last_error;
    last_error = hipSuccess;
    return e;
}
hipError_t hipPeekAtLastError(void) { return last_error; }

hipError_t hipGetDeviceCount(int *count)
{
    *count = 1;
    return hipSuccess;
}
hipError_t hipSetDevice(int device) { return device == 0 ? hipSuccess : fail(hipErrorInvalidValue); }
hipError_t hipGetDevice(int *device)
{
    *device = 0;
    return hipSuccess;
}
hipError_t hipDriverGetVersion(int *version)
{
    *version = 0;
    return hipSuccess;
}

hipError_t hipGetDeviceProperties(hipDeviceProp_t *prop, int device)
{
    if (device != 0) return fail(hipErrorInvalidValue);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "elattn HIP-on-CPU emulation");
    prop->totalGlobalMem = kMemory;
    prop->multiProcessorCount = kMultiprocessors;
    prop->warpSize = kWarp;
    prop->sharedMemPerBlock = kSharedPerBlock;
    prop->sharedMemPerBlockOptin = kSharedOptin;
    return hipSuccess;
}

hipError_t hipMalloc(void **ptr, size_t bytes)
{
    *ptr = nullptr;
    if (bytes == 0) return hipSuccess;
    if (bytes > kMemory) return fail(hipErrorOutOfMemory);
    void *p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) p = nullptr; /* exactly bytes: a sanitizer sees reads past them */
    if (!p) return fail(hipErrorOutOfMemory);
    memset(p, 0xff, bytes); /* fresh device memory holds garbage: NaN here, never zeros */
    std::lock_guard<std::mutex> hold(memory_lock);
    allocations[reinterpret_cast<uintptr_t>(p)] = bytes;
    *ptr = p;
    return hipSuccess;
}

hipError_t hipFree(void *ptr)
{
    if (!ptr) return hipSuccess;
    {
        std::lock_guard<std::mutex> hold(memory_lock);
        if (allocations.erase(reinterpret_cast<uintptr_t>(ptr)) == 0) return fail(hipErrorInvalidValue);
    }
    free(ptr);
    return hipSuccess;
}

hipError_t hipHostMalloc(void **ptr, size_t bytes, unsigned flags)
{
    if (flags) return fail(hipErrorInvalidValue);
    *ptr = malloc(bytes ? bytes : 1);
    return *ptr ? hipSuccess : fail(hipErrorOutOfMemory);
}
hipError_t hipHostFree(void *ptr)
{
    free(ptr);
    return hipSuccess;
}

static hipError_t check_copy(void *dst, const void *src, size_t bytes, hipMemcpyKind kind)
{
    if (kind != hipMemcpyHostToDevice && check_device_range(src, bytes, "copy source") != hipSuccess)
        return hipErrorInvalidValue;
    if (kind != hipMemcpyDeviceToHost && check_device_range(dst, bytes, "copy destination") != hipSuccess)
        return hipErrorInvalidValue;
    return hipSuccess;
}

hipError_t hipMemcpyAsync(void *dst, const void *src, size_t bytes, hipMemcpyKind kind, hipStream_t)
{
    if (check_copy(dst, src, bytes, kind) != hipSuccess) return hipErrorInvalidValue;
    if (bytes) memmove(dst, src, bytes);
    return hipSuccess;
}

hipError_t hipMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                            hipMemcpyKind kind, hipStream_t)
{
    if (height == 0 || width == 0) return hipSuccess;
    if (width > dpitch || width > spitch) return fail(hipErrorInvalidValue);
    const size_t dspan = dpitch * (height - 1) + width, sspan = spitch * (height - 1) + width;
    if (kind != hipMemcpyHostToDevice && check_device_range(src, sspan, "2-D copy source") != hipSuccess)
        return hipErrorInvalidValue;
    if (kind != hipMemcpyDeviceToHost && check_device_range(dst, dspan, "2-D copy destination") != hipSuccess)
        return hipErrorInvalidValue;
    for (size_t r = 0; r < height; ++r)
        memmove(static_cast<char *>(dst) + r * dpitch, static_cast<const char *>(src) + r * spitch, width);
    return hipSuccess;
}

hipError_t hipMemsetAsync(void *dst, int value, size_t bytes, hipStream_t)
{
    if (check_device_range(dst, bytes, "memset destination") != hipSuccess) return hipErrorInvalidValue;
    if (bytes) memset(dst, value, bytes);
    return hipSuccess;
}

hipError_t hipStreamCreate(hipStream_t *stream) { return hipStreamCreateWithFlags(stream, hipStreamDefault); }
hipError_t hipStreamCreateWithFlags(hipStream_t *stream, unsigned flags)
{
    *stream = new elattn_emu_stream{flags};
    return hipSuccess;
}
hipError_t hipStreamDestroy(hipStream_t stream)
{
    delete stream;
    return hipSuccess;
}
hipError_t hipStreamSynchronize(hipStream_t) { return hipSuccess; }
hipError_t hipStreamWaitEvent(hipStream_t, hipEvent_t event, unsigned)
{
    return event ? hipSuccess : fail(hipErrorInvalidValue);
}

hipError_t hipEventCreate(hipEvent_t *event)
{
    *event = new elattn_emu_event{std::chrono::steady_clock::now(), false};
    return hipSuccess;
}
hipError_t hipEventDestroy(hipEvent_t event)
{
    delete event;
    return hipSuccess;
}
hipError_t hipEventRecord(hipEvent_t event, hipStream_t)
{
    if (!event) return fail(hipErrorInvalidValue);
    event->at = std::chrono::steady_clock::now();
    event->recorded = true;
    return hipSuccess;
}
hipError_t hipEventSynchronize(hipEvent_t event) { return event ? hipSuccess : fail(hipErrorInvalidValue); }
hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t end)
{
    if (!start || !end || !start->recorded || !end->recorded) return fail(hipErrorInvalidValue);
    *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
    return hipSuccess;
}

hipError_t hipFuncSetAttribute(const void *func, hipFuncAttribute attr, int value)
{
    if (attr != hipFuncAttributeMaxDynamicSharedMemorySize || value < 0 || (size_t)value > kSharedOptin)
        return fail(hipErrorInvalidValue);
    std::lock_guard<std::mutex> hold(optin_lock);
    shared_optin[func] = value;
    return hipSuccess;
}

hipError_t hipMemGetAddressRange(void **base, size_t *size, void *p)
{
    uintptr_t b = 0;
    if (!find_allocation(p, 0, &b, size)) return fail(hipErrorInvalidValue);
    *base = reinterpret_cast<void *>(b);
    return hipSuccess;
}

int elattn_emu_is_device_memory(const void *p) { return find_allocation(p, 1, nullptr, nullptr); }
