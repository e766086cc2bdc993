namespace Profiler.Tests.Collector.Ring;

/// <summary>A signal handler whose event comes while its thread is writing into its shared ring
/// (collectors/preload/memprof_ring.h) has it stashed and written into the ring right after the
/// interrupted record, never to a marker: the ring gets every event of both, each side's in the
/// order made, times never going back, the stashed stacks unwound through the signal frame into
/// the code that was interrupted.</summary>
public sealed class RingStashTests
{
    [Fact]
    public void Handler_events_during_a_ring_write_follow_it_in_the_ring_complete_and_in_order()
    {
        const string source = RingPrograms.Prelude + "\n" + RingPrograms.MakeRings + "\n" + """
            #define RING_BYTES (64u << 20)
            #define WRITES 200000
            static struct memprof_ring_thread r;
            static volatile unsigned long handler_events, marker_events;
            static volatile uintptr_t main_site;

            __attribute__((noinline)) static void from_handler(void)
            {
                if (memprof_ring_write(&r, 2, 0, 0xdead0000 + handler_events, 0, 777))
                    handler_events++;
                else
                    marker_events++;
            }
            static void on_alarm(int sig) { (void)sig; from_handler(); }
            __attribute__((noinline)) static void from_main(unsigned long i)
            {
                main_site = (uintptr_t)__builtin_return_address(0);
                memprof_ring_write(&r, 1, 0, 0x10000 + i, 0, 48);
            }

            int main(void)
            {
                uint8_t *map = make_rings(1, RING_BYTES);
                struct memprof_ring_shared *sh = (void *)map;
                size_t data = RINGS_DATA;

                struct sigaction sa;
                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = on_alarm;
                sa.sa_flags = SA_RESTART;
                sigaction(SIGALRM, &sa, NULL);
                struct itimerval every = { { 0, 20 }, { 0, 20 } }, off = { { 0, 0 }, { 0, 0 } };
                setitimer(ITIMER_REAL, &every, NULL);
                for (unsigned long i = 0; i < WRITES; i++)
                    from_main(i);
                setitimer(ITIMER_REAL, &off, NULL);
                sigset_t alarm;
                sigemptyset(&alarm);
                sigaddset(&alarm, SIGALRM);
                sigprocmask(SIG_BLOCK, &alarm, NULL);

                struct memprof_ring_control *control = (void *)(map + MEMPROF_RING_HEADER_BYTES);
                uint64_t end = control->write_pos, last_time = 0;
                unsigned long mains = 0, handlers = 0, plain = 0, order_errors = 0, stack_errors = 0;
                for (uint64_t pos = 0; pos < end;) {
                    uint32_t prefix[2];
                    memcpy(prefix, map + data + pos, sizeof(prefix));
                    if (prefix[1] == MEMPROF_RING_RECORD_EVENT) {
                        const struct memprof_event *e = (const void *)(map + data + pos + 8);
                        const uint64_t *pcs = (const void *)(e + 1);
                        if (e->time_ns < last_time)
                            order_errors++;
                        last_time = e->time_ns;
                        if (e->func == 1 && e->address != 0x10000 + mains++)
                            order_errors++;
                        if (e->func == 2 && e->address != 0xdead0000 + handlers++)
                            order_errors++;
                        /* Stashed: a handler's event that names no stack; its unwind went through
                         * the signal frame into from_main's call from main, which it interrupted. */
                        if (e->func == 2 && !(e->flags & (MEMPROF_RING_EVENT_STACK_DEFINE | MEMPROF_RING_EVENT_STACK_REF))) {
                            plain++;
                            int through = 0;
                            for (uint32_t f = 0; f < e->frame_count; f++)
                                through |= pcs[f] == main_site;
                            if (!(e->flags & MEMPROF_RING_EVENT_UNWOUND) || !(e->flags & MEMPROF_EVENT_STACK_COMPLETE) || !through ||
                                pcs[0] < (uintptr_t)from_handler || pcs[0] > (uintptr_t)from_handler + 64)
                                stack_errors++;
                        }
                    }
                    pos += prefix[0];
                }
                printf("mains %lu handlers %lu of %lu markers %lu order_errors %lu stack_errors %lu\n",
                       mains, handlers, handler_events, marker_events, order_errors, stack_errors);
                printf("stashed %lu plain %lu interrupted %lu\n", (unsigned long)sh->stashed, plain, (unsigned long)sh->interrupted);
                return 0;
            }
            """;
        var lines = RingLayoutTests.CompileAndRun(source, "-O2", "-fno-omit-frame-pointer");
        var counts = lines[0].Split(' ');
        var stash = lines[1].Split(' ');
        // Every event of both in the ring, each side in its order, none to a marker.
        Assert.Equal("mains 200000", string.Join(' ', counts[..2]));
        Assert.Equal(counts[3], counts[5]);
        Assert.Equal("markers 0 order_errors 0 stack_errors 0", string.Join(' ', counts[6..]));
        // Handlers did interrupt writes (else this test proves nothing), and each such event is in the ring.
        Assert.True(long.Parse(stash[1], System.Globalization.CultureInfo.InvariantCulture) > 0, lines[1]);
        Assert.Equal(stash[1], stash[3]);
        Assert.Equal("interrupted 0", string.Join(' ', stash[4..]));
    }
}
