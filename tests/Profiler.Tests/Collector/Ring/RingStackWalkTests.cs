namespace Profiler.Tests.Collector.Ring;

/// <summary>The shared rings' writer walks stacks in process (collectors/preload/memprof_ring.h,
/// memprof_unwind.h): its cached CFI walk gives what libgcc's unwinder gives for the same stack,
/// and its frame-pointer walk never reads outside the thread's stack.</summary>
public sealed class RingStackWalkTests
{
    [Fact]
    public void The_cached_cfi_walk_gives_libgccs_frames_through_code_without_frame_pointers()
    {
        // Frames without frame pointers (-fomit-frame-pointer), with an LSDA (a cleanup under
        // -fexceptions), one with its CFA at rbp (alloca), glibc's qsort calling back into the
        // program, down to _start: the walk from the cache and
        // libgcc's _Unwind_Backtrace must agree frame for frame, cold (rules read from the FDEs) and warm
        // (rules from the cache, and from the memo of the walk before, whose stack hash it carries on).
        const string source = RingPrograms.Prelude + "\n" + """
            static struct memprof_unwind_rule cache[MEMPROF_UNWIND_CACHE_ENTRIES];
            static struct memprof_unwind_memo memo;
            static int failures, walks, deepest;

            __attribute__((noinline, optimize("no-omit-frame-pointer"))) static void capture(void)
            {
                uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
                uintptr_t ip = (uintptr_t)__builtin_return_address(0);
                uintptr_t sp = frame + 16, bp = *(uintptr_t *)frame;
                uint64_t fast[MEMPROF_MAX_FRAMES], slow[MEMPROF_MAX_FRAMES];
                for (int pass = 0; pass < 2; pass++) {
                    uint32_t n = memprof_unwind_walk(cache, &memo, ip, sp, bp, (uintptr_t)__libc_stack_end, fast, MEMPROF_MAX_FRAMES, NULL);
                    uint32_t m = memprof_ring_unwind(ip, slow);
                    walks++;
                    if (n == 0 || n != m || memcmp(fast, slow, n * 8) != 0) {
                        failures++;
                        printf("mismatch pass %d: %u cached frames, %u from libgcc\n", pass, n, m);
                    }
                    /* The memo's hash, partly carried over from the walk before (which shares the
                     * outer frames), is the whole stack's. */
                    uint64_t kept = memprof_ring_stack_hash_end(memo.frame[memo.current][0].suffix_hash, n, 0);
                    if (memo.frames[memo.current] != n || kept != memprof_ring_stack_hash(fast, n, 0)) {
                        failures++;
                        printf("memo pass %d: %u frames kept of %u, hash %s\n", pass, memo.frames[memo.current], n,
                               kept == memprof_ring_stack_hash(fast, n, 0) ? "agrees" : "differs");
                    }
                    if ((int)n > deepest)
                        deepest = (int)n;
                }
            }

            static void release(int *guard) { __asm__ volatile("" : : "r"(guard)); }
            __attribute__((noinline)) static int by_alloca(int depth);
            __attribute__((noinline)) static int recurse(int depth)
            {
                /* A cleanup under -fexceptions: this function's FDE carries an LSDA (augmentation "zPLR"). */
                __attribute__((cleanup(release))) int guard = depth;
                (void)guard;
                volatile char pad[64];
                pad[depth % 64] = (char)depth;
                if (depth == 0) {
                    capture();
                    return pad[0];
                }
                return (depth % 3 == 0 ? by_alloca(depth - 1) : recurse(depth - 1)) + pad[depth % 64];
            }
            __attribute__((noinline)) static int by_alloca(int depth)
            {
                volatile char *p = alloca(16 + depth * 24);
                p[0] = (char)depth;
                return recurse(depth) + p[0];
            }
            static int compare(const void *a, const void *b)
            {
                static int once;
                if (!once++)
                    recurse(7);
                return *(const int *)a - *(const int *)b;
            }
            int main(void)
            {
                recurse(20);
                int values[64];
                for (int i = 0; i < 64; i++)
                    values[i] = (i * 37) % 64;
                qsort(values, 64, sizeof(int), compare);
                printf("walks %d failures %d deepest %d\n", walks, failures, deepest);
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2", "-fomit-frame-pointer", "-fexceptions");
        var said = lines[^1].Split(' ');
        Assert.Equal("walks 4 failures 0", string.Join(' ', said[..4]));
        // recurse(20) and its alloca frames under main, __libc_start_call_main, __libc_start_main, _start.
        Assert.True(int.Parse(said[5], System.Globalization.CultureInfo.InvariantCulture) >= 25, lines[^1]);
    }

    [Fact]
    public void A_walk_retracing_the_last_one_leaves_it_where_an_outer_frame_changed()
    {
        // Two callers of the same size, `left` and `right`, chosen level by level from the bits of
        // a pattern: consecutive patterns often keep every inner frame (the same pc at the same sp)
        // under a different outer one, and the walk that follows the last walk's frames must see
        // the return address that differs, as libgcc's unwinder does, on every one of 512 walks.
        const string source = RingPrograms.Prelude + "\n" + """
            static struct memprof_unwind_rule cache[MEMPROF_UNWIND_CACHE_ENTRIES];
            static struct memprof_unwind_memo memo;
            static int failures, walks;

            __attribute__((noinline, optimize("no-omit-frame-pointer"))) static void capture(void)
            {
                uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
                uintptr_t ip = (uintptr_t)__builtin_return_address(0);
                uint64_t fast[MEMPROF_MAX_FRAMES], slow[MEMPROF_MAX_FRAMES];
                uint32_t n = memprof_unwind_walk(cache, &memo, ip, frame + 16, *(uintptr_t *)frame, (uintptr_t)__libc_stack_end, fast, MEMPROF_MAX_FRAMES, NULL);
                uint32_t m = memprof_ring_unwind(ip, slow);
                walks++;
                uint64_t kept = memprof_ring_stack_hash_end(memo.frame[memo.current][0].suffix_hash, n, 0);
                if (n == 0 || n != m || memcmp(fast, slow, n * 8) != 0 || kept != memprof_ring_stack_hash(fast, n, 0)) {
                    failures++;
                    if (failures < 4)
                        printf("mismatch: %u cached frames, %u from libgcc\n", n, m);
                }
            }
            __attribute__((noinline)) static int right(unsigned pattern, int level);
            __attribute__((noinline)) static int left(unsigned pattern, int level)
            {
                volatile char pad[48];
                pad[level] = (char)pattern;
                if (level == 0)
                    capture();
                else
                    pad[0] += (char)(((pattern >> (level - 1)) & 1 ? right(pattern, level - 1) : left(pattern, level - 1)) + 1);
                return pad[0] + pad[level];
            }
            __attribute__((noinline)) static int right(unsigned pattern, int level)
            {
                volatile char pad[48];
                pad[level] = (char)(pattern + 3);
                if (level == 0)
                    capture();
                else
                    pad[0] += (char)(((pattern >> (level - 1)) & 1 ? right(pattern, level - 1) : left(pattern, level - 1)) + 2);
                return pad[0] - pad[level];
            }
            int main(void)
            {
                int sink = 0;
                /* Bit 7 chooses the outermost caller and bit 0 the innermost's: pattern after
                 * pattern, the innermost frames stay and the outer ones change, and back. */
                for (int round = 0; round < 2; round++)
                    for (unsigned pattern = 0; pattern < 256; pattern++) {
                        unsigned p = round ? pattern : (pattern >> 4 | pattern << 4) & 0xff;
                        sink += left(p, 8);
                    }
                printf("walks %d failures %d sink %d\n", walks, failures, sink & 1);
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2", "-fomit-frame-pointer");
        Assert.True(lines[^1].StartsWith("walks 512 failures 0 ", StringComparison.Ordinal), string.Join("\n", lines));
    }

    [Fact]
    public void The_cached_walk_goes_through_a_signal_frame_as_libgcc_does()
    {
        // A timer interrupts code without frame pointers anywhere (a prologue, a loop, a call):
        // from the handler, the cached walk must step through rt_sigreturn's trampoline with the
        // registers the kernel saved, starting the interrupted frame at its exact pc, and agree
        // with libgcc's unwinder frame for frame down to _start.
        const string source = RingPrograms.Prelude + "\n" + """
            #include <signal.h>
            #include <sys/time.h>
            static struct memprof_unwind_rule cache[MEMPROF_UNWIND_CACHE_ENTRIES];
            static volatile int failures, walks, through_main;
            static volatile unsigned long sink;
            static volatile uintptr_t into_main;

            __attribute__((noinline, optimize("no-omit-frame-pointer"))) static void capture(void)
            {
                uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
                uintptr_t ip = (uintptr_t)__builtin_return_address(0);
                uintptr_t sp = frame + 16, bp = *(uintptr_t *)frame;
                uint64_t fast[MEMPROF_MAX_FRAMES], slow[MEMPROF_MAX_FRAMES];
                uint32_t n = memprof_unwind_walk(cache, NULL, ip, sp, bp, (uintptr_t)__libc_stack_end, fast, MEMPROF_MAX_FRAMES, NULL);
                uint32_t m = memprof_ring_unwind(ip, slow);
                walks++;
                if (n == 0 || n != m || memcmp(fast, slow, n * 8) != 0) {
                    failures++;
                    if (failures < 4)
                        printf("mismatch: %u cached frames, %u from libgcc\n", n, m);
                }
                for (uint32_t i = 0; i < n; i++)
                    if (fast[i] == into_main)
                        through_main++;
            }
            static void on_alarm(int sig) { (void)sig; capture(); }
            __attribute__((noinline)) static unsigned long spin(int depth, unsigned long x)
            {
                volatile unsigned long pad[4];
                pad[depth & 3] = x;
                if (depth > 0)
                    return spin(depth - 1, x * 3 + 1) + pad[depth & 3];
                for (int i = 0; i < 1000; i++)
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                return x;
            }
            __attribute__((noinline)) static unsigned long drive(unsigned long x)
            {
                into_main = (uintptr_t)__builtin_return_address(0);
                return spin((int)(x % 8), x);
            }
            int main(void)
            {
                struct sigaction sa;
                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = on_alarm;
                sa.sa_flags = SA_RESTART;
                sigaction(SIGPROF, &sa, NULL);
                struct itimerval every = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
                setitimer(ITIMER_PROF, &every, NULL);
                while (walks < 2000)
                    sink += drive(sink);
                setitimer(ITIMER_PROF, &off, NULL);
                printf("walks %d failures %d through %d\n", walks, failures, through_main);
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2", "-fomit-frame-pointer");
        var said = lines[^1].Split(' ');
        Assert.True(said[2] == "failures" && said[3] == "0", string.Join("\n", lines));
        // Most walks went through the signal frame into the interrupted program (spin … drive … main).
        Assert.True(int.Parse(said[5], System.Globalization.CultureInfo.InvariantCulture) > 1000, lines[^1]);
    }

    [Fact]
    public void A_frame_without_cfi_stops_both_walks_so_the_event_carries_a_stack_copy()
    {
        // through_no_cfi has no FDE (assembly without .cfi directives), as JIT-compiled code has
        // none: neither in-process walk may claim a complete stack through it.
        const string source = RingPrograms.Prelude + "\n" + """
            static struct memprof_unwind_rule cache[MEMPROF_UNWIND_CACHE_ENTRIES];
            void through_no_cfi(void (*f)(void));
            __asm__(".text\n.globl through_no_cfi\nthrough_no_cfi:\npush %rbp\nmov %rsp, %rbp\ncall *%rdi\npop %rbp\nret\n");

            __attribute__((noinline, optimize("no-omit-frame-pointer"))) static void capture(void)
            {
                uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
                uintptr_t ip = (uintptr_t)__builtin_return_address(0);
                uint64_t fast[MEMPROF_MAX_FRAMES], slow[MEMPROF_MAX_FRAMES];
                uint32_t n = memprof_unwind_walk(cache, NULL, ip, frame + 16, *(uintptr_t *)frame, (uintptr_t)__libc_stack_end, fast, MEMPROF_MAX_FRAMES, NULL);
                uint32_t m = memprof_ring_unwind(ip, slow);
                printf("cached %u libgcc %u\n", n, m);
            }
            __attribute__((noinline)) static void direct(void) { capture(); }
            int main(void)
            {
                direct();
                through_no_cfi(direct);
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2");
        // Called directly the walks agree on a complete stack; through the frame without CFI both give up.
        var direct = lines[0].Split(' ');
        Assert.Equal(direct[1], direct[3]);
        Assert.True(int.Parse(direct[1], System.Globalization.CultureInfo.InvariantCulture) >= 4, lines[0]); // main … _start
        Assert.Equal("cached 0 libgcc 0", lines[1]);
    }

    [Fact]
    public void A_frame_pointer_near_the_top_of_the_address_space_is_never_read()
    {
        // (fp + 16) wraps for fp = -8: a bounds check written that way let the walk read it.
        const string source = RingPrograms.Prelude + "\n" + """
            int main(void)
            {
                uint64_t pcs[MEMPROF_MAX_FRAMES];
                uint32_t flags = 0;
                uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
                uint32_t frames = memprof_ring_walk(0x1234, sp, (uintptr_t)-8, (uintptr_t)__libc_stack_end, pcs, &flags);
                printf("frames %u complete %d\n", frames, (flags & MEMPROF_EVENT_STACK_COMPLETE) != 0);
                return 0;
            }
            """;
        Assert.Equal("frames 1 complete 0", RingLayoutTests.CompileAndRun(source, "-O2")[^1]);
    }
}
