using System.Buffers.Binary;
using Profiler.Collectors.Linux.Preload;

namespace Profiler.Tests.Collector;

/// <summary>The C# reader (and writer) of the sampler's state agrees with the C layout, as the C
/// compiler itself lays it out.</summary>
public sealed class PreloadStateTests
{
    [Fact]
    public void Offsets_match_what_the_C_compiler_gives()
    {
        var lines = CompileAndRun("""
            #include <stddef.h>
            #include <stdio.h>
            #include "memprof_preload.h"
            #define AT(field) printf("%s %zu\n", #field, offsetof(struct memprof_preload_state, field))
            #define TABLE(field) printf("table.%s %zu\n", #field, offsetof(struct memprof_forward_table, field))
            int main(void) {
                printf("magic %llu\nversion_value %d\nslots_count %d\ntables_count %d\n", (unsigned long long)MEMPROF_PRELOAD_MAGIC,
                       MEMPROF_PRELOAD_VERSION, MEMPROF_PRELOAD_SLOTS, MEMPROF_FORWARD_TABLES);
                printf("size %zu\nslot_size %zu\ntable_size %zu\nslot.freed_usable %zu\n", sizeof(struct memprof_preload_state),
                       sizeof(struct memprof_preload_slot), sizeof(struct memprof_forward_table),
                       offsetof(struct memprof_preload_slot, freed_usable));
                AT(version); AT(slot_count); AT(rate); AT(base_live); AT(peak_live); AT(peak_time_ns); AT(untracked_samples);
                AT(requested_rate); AT(requested_generation); AT(applied_generation); AT(flags); AT(table_count);
                AT(start_allocations); AT(start_freed_usable); AT(start_time_ns); AT(tables); AT(slots);
                TABLE(kind); TABLE(malloc); TABLE(calloc); TABLE(realloc); TABLE(reallocarray); TABLE(posix_memalign);
                TABLE(aligned_alloc); TABLE(memalign); TABLE(valloc); TABLE(pvalloc); TABLE(free); TABLE(mallocx);
                TABLE(rallocx); TABLE(xallocx); TABLE(sdallocx); TABLE(dallocx); TABLE(usable_size); TABLE(mallinfo2); TABLE(mallctl);
                printf("kind.glibc %d\nkind.jemalloc %d\nkind.other %d\n", MEMPROF_ALLOCATOR_GLIBC, MEMPROF_ALLOCATOR_JEMALLOC,
                       MEMPROF_ALLOCATOR_OTHER);
                printf("flag.injected %d\nflag.usable %d\nflag.base %d\n", MEMPROF_STATE_INJECTED, MEMPROF_STATE_USABLE_UNKNOWN,
                       MEMPROF_STATE_BASE_UNKNOWN);
                return 0;
            }
            """);
        var c = lines.Select(l => l.Split(' ')).ToDictionary(p => p[0], p => ulong.Parse(p[1]));

        Assert.Equal(PreloadState.Magic, c["magic"]);
        Assert.Equal(PreloadState.Version, c["version_value"]);
        Assert.Equal((ulong)PreloadState.Slots, c["slots_count"]);
        Assert.Equal((ulong)PreloadState.Tables, c["tables_count"]);
        Assert.Equal((ulong)PreloadState.Size, c["size"]);
        Assert.Equal((ulong)PreloadState.SlotSize, c["slot_size"]);
        Assert.Equal((ulong)PreloadState.TableSize, c["table_size"]);
        Assert.Equal(32UL, c["slot.freed_usable"]);
        Assert.Equal((ulong)PreloadState.VersionOffset, c["version"]);
        Assert.Equal((ulong)PreloadState.SlotCountOffset, c["slot_count"]);
        Assert.Equal((ulong)PreloadState.RateOffset, c["rate"]);
        Assert.Equal((ulong)PreloadState.BaseLiveOffset, c["base_live"]);
        Assert.Equal((ulong)PreloadState.PeakLiveOffset, c["peak_live"]);
        Assert.Equal((ulong)PreloadState.PeakTimeOffset, c["peak_time_ns"]);
        Assert.Equal((ulong)PreloadState.UntrackedOffset, c["untracked_samples"]);
        Assert.Equal((ulong)PreloadState.RequestedRateOffset, c["requested_rate"]);
        Assert.Equal((ulong)PreloadState.RequestedGenerationOffset, c["requested_generation"]);
        Assert.Equal((ulong)PreloadState.AppliedGenerationOffset, c["applied_generation"]);
        Assert.Equal((ulong)PreloadState.FlagsOffset, c["flags"]);
        Assert.Equal((ulong)PreloadState.TableCountOffset, c["table_count"]);
        Assert.Equal((ulong)PreloadState.StartSumsOffset, c["start_allocations"]);
        Assert.Equal((ulong)PreloadState.StartSumsOffset + 32, c["start_freed_usable"]);
        Assert.Equal((ulong)PreloadState.StartTimeOffset, c["start_time_ns"]);
        Assert.Equal((ulong)PreloadState.TablesOffset, c["tables"]);
        Assert.Equal((ulong)PreloadState.HeaderSize, c["slots"]);

        // What FillTable writes, field by field, lands where the C struct has each function.
        var table = new ForwardTable(ForwardKind.Jemalloc,
            InjectLibrary.Functions.Select((f, i) => (f, i)).ToDictionary(p => p.f, p => 0x1000UL + (ulong)p.i),
            UsableSize: 0x2000, Mallinfo2: 0x3000, Mallctl: 0x4000);
        var writes = InjectLibrary.FillTable(1, table);
        int at = InjectLibrary.TableOffset(1);
        foreach (var function in InjectLibrary.Functions)
            Assert.Equal((ulong)at + c["table." + function], (ulong)writes.Single(w => w.Value == table.Functions[function]).Offset);
        Assert.Equal((ulong)at + c["table.usable_size"], (ulong)writes.Single(w => w.Value == 0x2000).Offset);
        Assert.Equal((ulong)at + c["table.mallinfo2"], (ulong)writes.Single(w => w.Value == 0x3000).Offset);
        Assert.Equal((ulong)at + c["table.mallctl"], (ulong)writes.Single(w => w.Value == 0x4000).Offset);
        Assert.Equal((ulong)at + c["table.kind"], (ulong)writes[^1].Offset);
        Assert.Equal(c["kind.jemalloc"], writes[^1].Value);
        Assert.Equal((ulong)ForwardKind.Glibc, c["kind.glibc"]);
        Assert.Equal((ulong)ForwardKind.Other, c["kind.other"]);
        Assert.Equal((ulong)PreloadFlags.Injected, c["flag.injected"]);
        Assert.Equal((ulong)PreloadFlags.UsableUnknown, c["flag.usable"]);
        Assert.Equal((ulong)PreloadFlags.BaseUnknown, c["flag.base"]);
    }

    [Fact]
    public void Totals_sum_every_slot_and_live_bytes_start_from_the_inherited_heap()
    {
        var state = NewState();
        Put(state, PreloadState.BaseLiveOffset, 1000);
        Put(state, PreloadState.PeakLiveOffset, 9000);
        Put(state, PreloadState.PeakTimeOffset, 123456);
        Put(state, PreloadState.UntrackedOffset, 2);
        PutSlots(state);

        var totals = PreloadState.Decode(state);

        Assert.Equal(new PreloadTotals(13, 1300, 5, 500, 1000 + 1360 - 500, 9000, 123456, 2), totals);
    }

    [Fact]
    public void Counting_starts_at_the_sums_taken_when_the_attach_request_was_applied()
    {
        var state = NewState();
        Put(state, PreloadState.BaseLiveOffset, 50_000);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(PreloadState.FlagsOffset), (uint)(PreloadFlags.Injected | PreloadFlags.BaseUnknown));
        PutSlots(state);
        // At the attach the slots held 2 calls of 200 B (210 usable) and 1 free of 50 usable.
        long[] start = [2, 200, 210, 1, 50];
        for (int f = 0; f < 5; f++) Put(state, PreloadState.StartSumsOffset + 8 * f, start[f]);

        var totals = PreloadState.Decode(state)!.Value;

        Assert.Equal((11UL, 1100UL, 4UL, 450UL), (totals.Allocations, totals.AllocatedBytes, totals.Frees, totals.FreedUsable));
        Assert.Equal(50_000 + (1360 - 210) - (500 - 50), totals.LiveUsable);
        Assert.Equal(PreloadFlags.Injected | PreloadFlags.BaseUnknown, totals.Flags);
    }

    [Fact]
    public void A_state_the_library_has_not_initialized_reads_as_nothing()
    {
        Assert.Null(PreloadState.Decode(new byte[PreloadState.Size]));
        Assert.Null(PreloadState.Decode(new byte[16]));
        Assert.Null(PreloadState.DecodeHeader(new byte[PreloadState.HeaderSize]));
    }

    [Fact]
    public void A_library_from_before_the_attach_protocol_is_read_and_cannot_be_reset()
    {
        // Version 1: 128 bytes of header, then the slots; no start sums.
        var state = new byte[PreloadState.Size];
        Put(state, 0, (long)PreloadState.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(PreloadState.VersionOffset), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(PreloadState.SlotCountOffset), PreloadState.Slots);
        Put(state, PreloadState.RateOffset, 65536);
        Put(state, 128 + 3 * PreloadState.SlotSize, 7);
        Put(state, 128 + 3 * PreloadState.SlotSize + 8, 700);

        var header = PreloadState.DecodeHeader(state)!.Value;
        var totals = PreloadState.Decode(state)!.Value;

        Assert.Equal((1u, 65536UL, false), (header.Version, header.Rate, header.CanBeReset));
        Assert.Equal((7UL, 700UL), (totals.Allocations, totals.AllocatedBytes));
        var error = Assert.Throws<Core.ProfilerException>(() => InjectLibrary.Request(header, 4096));
        Assert.Contains("cannot be given another rate", error.Message);
    }

    [Fact]
    public void An_attach_request_writes_the_rate_before_a_generation_the_library_has_not_applied()
    {
        var state = NewState();
        Put(state, PreloadState.RateOffset, 524288);
        Put(state, PreloadState.RequestedGenerationOffset, 3);
        Put(state, PreloadState.AppliedGenerationOffset, 3);
        var header = PreloadState.DecodeHeader(state)!.Value;

        var writes = InjectLibrary.Request(header, 4096);

        Assert.Equal([new StateWrite(PreloadState.RequestedRateOffset, 4096), new StateWrite(PreloadState.RequestedGenerationOffset, 4)], writes);
        Assert.False(InjectLibrary.Applied(header, writes));
        foreach (var w in writes) InjectLibrary.Bytes(w).CopyTo(state.AsSpan(w.Offset));
        Assert.True(PreloadState.DecodeHeader(state)!.Value.RequestPending);
        // The library carries it out: its rate, then the generation.
        Put(state, PreloadState.RateOffset, 4096);
        Put(state, PreloadState.AppliedGenerationOffset, 4);
        Assert.True(InjectLibrary.Applied(PreloadState.DecodeHeader(state)!.Value, writes));
    }

    [Fact]
    public void A_request_made_while_another_is_pending_gets_a_generation_of_its_own()
    {
        var state = NewState();
        Put(state, PreloadState.RequestedGenerationOffset, 5);
        Put(state, PreloadState.AppliedGenerationOffset, 4);

        var writes = InjectLibrary.Request(PreloadState.DecodeHeader(state)!.Value, 0);

        Assert.Equal(6UL, writes[1].Value);
    }

    [Fact]
    public void Entry_points_are_named_per_table_and_function()
    {
        Assert.Equal("memprof_inject0_malloc", InjectLibrary.EntryPoint(0, "malloc"));
        Assert.Equal("memprof_inject3_sdallocx", InjectLibrary.EntryPoint(3, "sdallocx"));
        Assert.Throws<ArgumentOutOfRangeException>(() => InjectLibrary.EntryPoint(4, "malloc"));
        Assert.Throws<ArgumentException>(() => InjectLibrary.EntryPoint(0, "nallocx"));
    }

    static byte[] NewState()
    {
        var state = new byte[PreloadState.Size];
        Put(state, 0, (long)PreloadState.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(PreloadState.VersionOffset), PreloadState.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(PreloadState.SlotCountOffset), PreloadState.Slots);
        return state;
    }

    // slot 0 (shared) and slot 5: allocations, bytes, allocated usable, frees, freed usable
    static void PutSlots(byte[] state)
    {
        long[][] slots = [[3, 300, 320, 1, 100], [10, 1000, 1040, 4, 400]];
        int[] at = [0, 5];
        for (int i = 0; i < slots.Length; i++)
            for (int f = 0; f < 5; f++)
                Put(state, PreloadState.HeaderSize + at[i] * PreloadState.SlotSize + f * 8, slots[i][f]);
    }

    static void Put(byte[] state, int offset, long value) => BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(offset), value);

    static string[] CompileAndRun(string source)
    {
        var dir = Directory.CreateTempSubdirectory("memprof-preload-layout");
        try
        {
            var file = Path.Combine(dir.FullName, "layout.c");
            File.WriteAllText(file, source);
            string exe = Path.Combine(dir.FullName, "layout");
            Run("cc", "-I", Path.Combine(RepoRoot.Path, "collectors", "preload"), "-o", exe, file);
            return Run(exe).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static string Run(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
