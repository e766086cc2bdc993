namespace Profiler.Tests.Collector.Ring;

/// <summary>A thread names each stack it sends once per ring (collectors/preload/memprof_ring.h):
/// later events of the same stack refer to the name. A fork child claims a ring of its own with
/// a copy of its parent's thread's table, whose names mean nothing there: its first event of a
/// stack the parent had named must define it again.</summary>
public sealed class RingStackNameTests
{
    [Fact]
    public void A_fork_childs_ring_gets_every_stack_defined_again_before_it_is_referred_to()
    {
        const string source = RingPrograms.Prelude + "\n" + RingPrograms.MakeRings + "\n" + """
            #define RING_BYTES (1u << 20)
            static struct memprof_ring_thread r;

            __attribute__((noinline)) static void allocate_here(uint64_t address)
            {
                memprof_ring_write(&r, 1, 0, address, 0, 48);
                __asm__ volatile("" ::: "memory");
            }

            static pid_t child = -1;
            static int steps;

            __attribute__((noinline)) static int next_step(void)
            {
                if (steps == 2 && child == -1) {
                    child = fork();
                    if (child == 0) {
                        memprof_ring_pid = (uint32_t)getpid();
                        memprof_ring_release(&r, 0);
                    } else {
                        int status;
                        waitpid(child, &status, 0);
                    }
                }
                return steps < (child == 0 ? 4 : 3) ? steps++ : -1;
            }

            /* Each event in the ring `i`: d (defines its stack), r (refers to a name), - (neither). */
            static void list(uint8_t *map, size_t data, int i, char *out)
            {
                struct memprof_ring_control *control = (void *)(map + MEMPROF_RING_HEADER_BYTES);
                uint8_t *ring = map + data + (size_t)i * RING_BYTES;
                int n = 0;
                for (uint64_t pos = 0; pos < control[i].write_pos;) {
                    uint32_t prefix[2];
                    memcpy(prefix, ring + pos, sizeof(prefix));
                    if (prefix[1] == MEMPROF_RING_RECORD_EVENT) {
                        const struct memprof_event *e = (const void *)(ring + pos + 8);
                        out[n++] = e->flags & MEMPROF_RING_EVENT_STACK_DEFINE ? 'd' : e->flags & MEMPROF_RING_EVENT_STACK_REF ? 'r' : '-';
                    }
                    pos += prefix[0];
                }
                out[n] = 0;
            }

            int main(void)
            {
                uint8_t *map = make_rings(2, RING_BYTES);
                size_t data = RINGS_DATA;
                /* One call site, so one stack (the fork is out of sight of main, which the
                 * compiler could otherwise split into two call sites): the parent's events 0-2,
                 * the child's 2-3. */
                for (int step; (step = next_step()) >= 0;)
                    allocate_here(0x1000 * (uint64_t)(step + 1));
                if (child == 0)
                    _exit(0);
                struct memprof_ring_control *control = (void *)(map + MEMPROF_RING_HEADER_BYTES);
                char events[2][64];
                for (int i = 0; i < 2; i++) {
                    list(map, data, i, events[i]);
                    uint32_t owner = (uint32_t)(control[i].owner >> 32);
                    printf("%s %s\n", owner == (uint32_t)child ? "child" : owner == (uint32_t)getpid() ? "parent" : "none", events[i]);
                }
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2", "-fomit-frame-pointer").Order().ToArray();
        // The parent names its stack once; the child, in its own ring, defines it again first.
        Assert.Equal(["child dr", "parent drr"], lines);
    }
}
