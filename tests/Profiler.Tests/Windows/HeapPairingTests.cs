using Profiler.Collectors.HeapTrace;
using Profiler.Core.Analysis;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>How heap calls become allocation and free events, at rate 1 (every call written).
/// Expected lines are worked out by hand from the calls each test makes.</summary>
public sealed class HeapPairingTests
{
    static readonly ulong[] LeakStack = FakeSymbols.Stack("allocs::leak_leaf", "allocs::main");
    static readonly string LeakStackText = string.Join(",", LeakStack.Select(a => $"{a:x}"));

    [Fact]
    public void A_free_is_paired_with_its_allocation_and_carries_its_size()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, LeakStack),
            new HeapAlloc(2_000, Pid, MainTid, Heap, 0x6000, 200, LeakStack),
            new HeapFree(3_000, Pid, MainTid, Heap, 0x5000),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [{LeakStackText}]",
            $"Alloc t=2000 tid={MainTid} @6000 size=200 w=200 Malloc [{LeakStackText}]",
            $"Free t=3000 tid={MainTid} @5000 size=0 w=100 FreeFunction [-]",
        ], run.EventLines());
        var c = run.FinalCounters;
        Assert.Equal((2UL, 300UL, 1UL, 100UL, 200L, 300L), (c.Allocations, c.AllocatedBytes, c.Frees, c.FreedBytes, c.LiveBytes, c.PeakLiveBytes));
        Assert.True(c.LiveBytesKnown);
    }

    [Fact]
    public void A_realloc_in_place_frees_the_old_size_and_allocates_the_new_at_the_same_address()
    {
        var grow = FakeSymbols.Stack("allocs::realloc_grow", "allocs::main");
        string growText = string.Join(",", grow.Select(a => $"{a:x}"));
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 16, grow),
            new HeapReAlloc(2_000, Pid, MainTid, Heap, 0x5000, 32, 0x5000, 16, grow),
            new HeapFree(3_000, Pid, MainTid, Heap, 0x5000),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=16 w=16 Malloc [{growText}]",
            $"Free t=2000 tid={MainTid} @5000 size=0 w=16 Realloc [{growText}]",
            $"Alloc t=2000 tid={MainTid} @5000 size=32 w=32 Realloc [{growText}]",
            $"Free t=3000 tid={MainTid} @5000 size=0 w=32 FreeFunction [-]",
        ], run.EventLines());
        var heap = HeapAnalysis.Compute(run.Model()).Totals;
        Assert.Equal((48L, 2L, 48L, 2L, 0L, 0L), (heap.AllocatedBytes, heap.Allocations, heap.FreedBytes, heap.Frees, heap.LiveBytes, heap.UnmatchedFrees));
    }

    [Fact]
    public void A_moving_realloc_frees_the_old_block_and_allocates_at_the_new_address()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 16, LeakStack),
            new HeapReAlloc(2_000, Pid, MainTid, Heap, 0x9000, 4096, 0x5000, 16, LeakStack),
            // The old address is free now: a new block there is a new allocation, not a lost free.
            new HeapAlloc(3_000, Pid, MainTid, Heap, 0x5000, 8, LeakStack),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=16 w=16 Malloc [{LeakStackText}]",
            $"Free t=2000 tid={MainTid} @5000 size=0 w=16 Realloc [{LeakStackText}]",
            $"Alloc t=2000 tid={MainTid} @9000 size=4096 w=4096 Realloc [{LeakStackText}]",
            $"Alloc t=3000 tid={MainTid} @5000 size=8 w=8 Malloc [{LeakStackText}]",
        ], run.EventLines());
        Assert.Equal(0, run.Summary.ImplicitFrees);
        Assert.Equal(4096L + 8, run.FinalCounters.LiveBytes);
    }

    [Fact]
    public void A_failed_realloc_leaves_the_block_as_it_was()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 16, LeakStack),
            new HeapReAlloc(2_000, Pid, MainTid, Heap, 0, 1UL << 40, 0x5000, 16, LeakStack),
            new HeapFree(3_000, Pid, MainTid, Heap, 0x5000),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=16 w=16 Malloc [{LeakStackText}]",
            $"Free t=3000 tid={MainTid} @5000 size=0 w=16 FreeFunction [-]",
        ], run.EventLines());
    }

    [Fact]
    public void Destroying_a_heap_frees_every_block_it_still_holds_and_nothing_else()
    {
        const ulong privateHeap = 0x7a0000;
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, privateHeap, 0x8100, 10, LeakStack),
            new HeapAlloc(2_000, Pid, MainTid, privateHeap, 0x8000, 20, LeakStack),
            new HeapAlloc(3_000, Pid, MainTid, Heap, 0x5000, 30, LeakStack),
            new HeapAlloc(4_000, Pid, MainTid, privateHeap, 0x8200, 40, LeakStack),
            new HeapFree(5_000, Pid, MainTid, privateHeap, 0x8200),
            new HeapDestroy(6_000, Pid, MainTid + 1, privateHeap),
            // Gone with its heap: freeing it again is a free of an unknown block.
            new HeapFree(7_000, Pid, MainTid, privateHeap, 0x8000),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @8100 size=10 w=10 Malloc [{LeakStackText}]",
            $"Alloc t=2000 tid={MainTid} @8000 size=20 w=20 Malloc [{LeakStackText}]",
            $"Alloc t=3000 tid={MainTid} @5000 size=30 w=30 Malloc [{LeakStackText}]",
            $"Alloc t=4000 tid={MainTid} @8200 size=40 w=40 Malloc [{LeakStackText}]",
            $"Free t=5000 tid={MainTid} @8200 size=0 w=40 FreeFunction [-]",
            $"Free t=6000 tid={MainTid + 1} @8000 size=0 w=20 FreeFunction [-]",
            $"Free t=6000 tid={MainTid + 1} @8100 size=0 w=10 FreeFunction [-]",
        ], run.EventLines());
        var c = run.FinalCounters;
        Assert.Equal((4UL, 100UL, 4UL, 70UL, 30L), (c.Allocations, c.AllocatedBytes, c.Frees, c.FreedBytes, c.LiveBytes));
        Assert.Equal(1UL, run.Summary.UntracedFrees);
        Assert.Equal(1L, run.Summary.LiveBlocks);
    }

    [Fact]
    public void Frees_of_blocks_allocated_before_tracing_are_counted_but_not_written()
    {
        var run = Run([
            ExeImage(),
            new HeapFree(1_000, Pid, MainTid, Heap, 0x4000),
            new HeapReAlloc(2_000, Pid, MainTid, Heap, 0x4100, 64, 0x4080, 48, LeakStack),
            new HeapAlloc(3_000, Pid, MainTid, Heap, 0x5000, 100, LeakStack),
        ], Options(launched: false));

        Assert.Equal([
            $"Alloc t=2000 tid={MainTid} @4100 size=64 w=64 Realloc [{LeakStackText}]",
            $"Alloc t=3000 tid={MainTid} @5000 size=100 w=100 Malloc [{LeakStackText}]",
        ], run.EventLines());
        var c = run.FinalCounters;
        Assert.Equal((2UL, 164UL, 2UL, 0UL, 164L), (c.Allocations, c.AllocatedBytes, c.Frees, c.FreedBytes, c.LiveBytes));
        Assert.False(c.LiveBytesKnown);
        Assert.Equal(2UL, run.Summary.UntracedFrees);
        Assert.Equal(0, HeapAnalysis.Compute(run.Model()).Totals.UnmatchedFrees);
    }

    [Fact]
    public void Live_bytes_are_known_only_when_tracing_saw_every_block()
    {
        HeapAlloc alloc = new(1_000, Pid, MainTid, Heap, 0x5000, 100, LeakStack);
        Assert.True(Run([alloc], Options(launched: true)).FinalCounters.LiveBytesKnown);
        Assert.False(Run([alloc], Options(launched: false)).FinalCounters.LiveBytesKnown);
        Assert.False(Run([alloc, new HeapFree(2_000, Pid, MainTid, Heap, 0x4000)], Options(launched: true)).FinalCounters.LiveBytesKnown);
    }

    [Fact]
    public void An_address_handed_out_again_without_a_free_frees_the_earlier_block()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, LeakStack),
            new HeapAlloc(2_000, Pid, MainTid, Heap, 0x5000, 60, LeakStack),
        ]);

        Assert.Equal([
            $"Alloc t=1000 tid={MainTid} @5000 size=100 w=100 Malloc [{LeakStackText}]",
            $"Free t=2000 tid={MainTid} @5000 size=0 w=100 FreeFunction [-]",
            $"Alloc t=2000 tid={MainTid} @5000 size=60 w=60 Malloc [{LeakStackText}]",
        ], run.EventLines());
        Assert.Equal(1, run.Summary.ImplicitFrees);
        Assert.Equal(60L, run.FinalCounters.LiveBytes);
    }

    [Fact]
    public void Records_of_other_processes_are_ignored()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid + 1, MainTid, Heap, 0x5000, 100, LeakStack),
            new ImageLoad(1_500, Pid + 1, 0x1_0000_0000, 0x1000, @"C:\other.exe", ""),
            new HeapAlloc(2_000, Pid, MainTid, Heap, 0x6000, 200, LeakStack),
        ]);

        Assert.Equal([$"Alloc t=2000 tid={MainTid} @6000 size=200 w=200 Malloc [{LeakStackText}]"], run.EventLines());
        Assert.Equal([FakeSymbols.ExePath], run.Recording.Modules.Select(m => m.Path));
        Assert.Equal(2, run.Summary.IgnoredRecords);
    }

    [Fact]
    public void The_process_exit_is_written_once_with_the_totals_at_that_time()
    {
        var run = Run([
            ExeImage(),
            new HeapAlloc(1_000, Pid, MainTid, Heap, 0x5000, 100, LeakStack),
            new ProcessStop(9_000, Pid, 3),
            new ProcessStop(9_500, Pid, 3),
        ]);

        var exit = Assert.Single(run.Recording.Exits);
        Assert.Equal((Pid, 9_000L, 3), (exit.Pid, exit.TimeNanos, exit.ExitCode));
        Assert.Contains(run.Recording.Counters, c => c.TimeNanos == 9_000 && c.LiveBytes == 100);
    }
}
