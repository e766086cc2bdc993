using Profiler.Collectors.HeapTrace;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>Stacks that arrive as separate walks (or not at all), and records that arrive out of
/// time order, as real-time ETW delivers them.</summary>
public sealed class StackAndOrderTests
{
    static string Text(ulong[] stack) => string.Join(",", stack.Select(a => $"{a:x}"));

    [Fact]
    public void A_stack_walk_is_matched_to_its_event_by_thread_and_time_without_kernel_frames()
    {
        var user = FakeSymbols.Stack("allocs::churn", "allocs::main");
        var a = new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100);
        var b = new HeapAlloc(1_000, Pid, MainTid + 1, Heap, 0x6000, 200); // same time, other thread
        var run = Run([ExeImage(), a, b, WalkOf(b, FakeSymbols.Stack("allocs::thread_worker")), WalkOf(a, user)]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [{Text(user)}]",
            $"Alloc t=1000 tid={MainTid + 1} @6000 size=200 w=200 Malloc [{Text(FakeSymbols.Stack("allocs::thread_worker"))}]",
        ], run.EventLines());
        Assert.Equal(0, run.Summary.AllocationsWithoutStack);
        Assert.Equal(0, run.Summary.UnmatchedStackWalks);
    }

    [Fact]
    public void Two_events_of_one_thread_in_one_clock_tick_get_their_own_walks_in_order()
    {
        var first = new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100);
        var second = new HeapReAlloc(1_000, Pid, MainTid, Heap, 0x6000, 300, 0x5000, 100);
        var run = Run([ExeImage(), first, WalkOf(first, FakeSymbols.Stack("allocs::churn")), second, WalkOf(second, FakeSymbols.Stack("allocs::realloc_grow"))]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [{Text(FakeSymbols.Stack("allocs::churn"))}]",
            $"Free t=1000 tid={MainTid} @5000 size=0 w=100 Realloc [{Text(FakeSymbols.Stack("allocs::realloc_grow"))}]",
            $"Alloc t=1000 tid={MainTid} @6000 size=300 w=300 Realloc [{Text(FakeSymbols.Stack("allocs::realloc_grow"))}]",
        ], run.EventLines());
        Assert.Equal(0, run.Summary.UnmatchedStackWalks);
    }

    [Fact]
    public void An_allocation_whose_stack_never_arrives_is_written_without_one_and_counted()
    {
        var a = new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100);
        var stray = new StackWalk(2_001, Pid, MainTid, 2_000, [FakeSymbols.In("allocs::churn")]); // names no event
        var run = Run([ExeImage(), a, stray, new HeapFree(3_000, Pid, MainTid, Heap, 0x5000)]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [-]",
            $"Free t=3000 tid={MainTid} @5000 size=0 w=100 FreeFunction [-]",
        ], run.EventLines());
        Assert.Equal(1, run.Summary.AllocationsWithoutStack);
        Assert.Equal(1, run.Summary.UnmatchedStackWalks);
        Assert.Empty(run.Recording.Stacks);
    }

    [Fact]
    public void A_stack_seen_again_is_written_once()
    {
        var stack = FakeSymbols.Stack("allocs::churn", "allocs::main");
        var run = Run(Enumerable.Range(0, 5).Select(i => (TraceRecord)new HeapAlloc(1_000 * (i + 1), Pid, MainTid, Heap, 0x5000 + (ulong)i * 0x100, 10, stack)));
        Assert.Single(run.Recording.Stacks);
        Assert.Equal(5, run.Recording.Events.StackId.Count(id => id == run.Recording.Stacks.Keys.Single()));
    }

    [Fact]
    public void Records_delivered_out_of_order_within_the_window_give_the_same_recording_as_in_order()
    {
        var inOrder = Workload.Generate(seed: 11, operations: 20_000, withWalks: true);
        var random = new Random(12);
        // Each record reaches the consumer up to 1 ms late (as if in another CPU's buffer); a
        // walk travels with the event it follows.
        long delay = 0;
        var delivered = inOrder
            .Select((r, i) =>
            {
                if (r is not StackWalk) delay = random.Next(0, 1_000_000);
                return (Record: r, Arrival: r.TimeNanos + delay, Index: i);
            })
            .ToList()
            .OrderBy(x => x.Arrival).ThenBy(x => x.Index).Select(x => x.Record).ToList();
        int freesBeforeAllocs = Workload.FreesArrivingBeforeTheirAllocation(delivered);

        var expected = Run(inOrder, Options(windowMs: 2));
        var actual = Run(delivered, Options(windowMs: 2));

        Assert.True(freesBeforeAllocs > 100, $"the shuffle should put frees before their allocations ({freesBeforeAllocs})");
        Assert.Equal(expected.EventLines(), actual.EventLines());
        Assert.Equal(0, actual.Summary.LateRecords);
        Assert.Equal(0, actual.Summary.AllocationsWithoutStack);
        Assert.Equal(expected.FinalCounters, actual.FinalCounters);
        Assert.Equal(0, expected.Summary.ImplicitFrees);
        Assert.Equal(0UL, expected.Summary.UntracedFrees);
    }

    [Fact]
    public void A_record_later_than_the_window_is_still_processed_and_counted_as_late()
    {
        var stack = FakeSymbols.Stack("allocs::churn");
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, stack),
            new HeapAlloc(10_000_000, Pid, MainTid, Heap, 0x6000, 200, stack), // moves the window past t=1000
            new HeapFree(2_000, Pid, MainTid, Heap, 0x5000),                  // 8 ms late, window 5 ms
        ]);

        Assert.Equal(1, run.Summary.LateRecords);
        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [{Text(stack)}]",
            $"Free t=2000 tid={MainTid} @5000 size=0 w=100 FreeFunction [-]",
            $"Alloc t=10000000 tid={MainTid} @6000 size=200 w=200 Malloc [{Text(stack)}]",
        ], run.EventLines());
        Assert.Equal((100UL, 200L), (run.FinalCounters.FreedBytes, run.FinalCounters.LiveBytes));
    }

    [Fact]
    public void A_quiet_target_is_written_out_once_nothing_arrived_for_a_whole_window()
    {
        var stack = FakeSymbols.Stack("allocs::churn");
        var written = new List<long>();
        Run([ExeImage(), new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, stack)], Options(windowMs: 5),
            consumer =>
            {
                foreach (long nowMs in new[] { 4, 8, 10 })
                {
                    consumer.Advance(nowMs * 1_000_000);
                    written.Add(consumer.Summary.WrittenEvents);
                }
            });
        // At 4 ms records had just arrived; at 8 ms the stream had been quiet for 4 ms, less than
        // the window; at 10 ms for 6 ms.
        Assert.Equal([0L, 0L, 1L], written);
    }

    [Fact]
    public void While_records_keep_arriving_the_clock_does_not_release_past_them()
    {
        // A reader 3 ms behind the clock: records arrive with times 3 ms in the past.
        var stack = FakeSymbols.Stack("allocs::churn");
        var records = new List<TraceRecord> { ExeImage() };
        var stream = Enumerable.Range(0, 20).Select(i => (TraceRecord)new HeapAlloc(i * 1_000_000L, Pid, MainTid, Heap, 0x5000 + (ulong)i * 0x100, 10, stack)).ToList();
        long late = -1;
        Run(records, Options(windowMs: 2), consumer =>
        {
            for (int i = 0; i < stream.Count; i++)
            {
                consumer.Add(stream[i]);
                consumer.Advance(stream[i].TimeNanos + 3_000_000);
            }
            // A record from another CPU's buffer, 1.5 ms older than the newest: inside the window.
            consumer.Add(new HeapFree(stream[^1].TimeNanos - 1_500_000, Pid, MainTid, Heap, 0x5000 + 18 * 0x100));
            late = consumer.Summary.LateRecords;
        });
        Assert.Equal(0, late);
    }

    [Fact]
    public void Exact_totals_are_written_about_every_100_ms_and_match_the_calls_up_to_then()
    {
        var records = Workload.Generate(seed: 3, operations: 30_000, withWalks: false, spacingNanos: 50_000); // 1.5 s
        var run = Run(records, Options(rate: 512 * 1024, windowMs: 2));

        var counters = run.Recording.Counters.Where(c => c.Pid == Pid).ToList();
        Assert.InRange(counters.Count, 14, 17);
        Assert.True(counters.Zip(counters.Skip(1)).All(p => p.First.TimeNanos <= p.Second.TimeNanos));
        foreach (var c in counters)
        {
            var truth = Workload.TotalsUpTo(records, c.TimeNanos);
            Assert.Equal((truth.Allocations, truth.AllocatedBytes, truth.Frees, truth.FreedBytes),
                (c.Allocations, c.AllocatedBytes, c.Frees, c.FreedBytes));
            Assert.Equal((long)(truth.AllocatedBytes - truth.FreedBytes), c.LiveBytes);
        }
    }
}
