using System.Buffers.Binary;
using Profiler.Collectors.Linux.Preload;

namespace Profiler.Tests.Collector;

/// <summary>The C# reader of the preload library's state agrees with the C layout, as the C
/// compiler itself lays it out.</summary>
public sealed class PreloadStateTests
{
    [Fact]
    public void Offsets_match_what_the_C_compiler_gives()
    {
        var dir = Directory.CreateTempSubdirectory("memprof-preload-layout");
        var source = Path.Combine(dir.FullName, "layout.c");
        File.WriteAllText(source, """
            #include <stddef.h>
            #include <stdio.h>
            #include "memprof_preload.h"
            int main(void) {
                printf("%zu %zu %zu %llu %d\n", offsetof(struct memprof_preload_state, slots),
                       sizeof(struct memprof_preload_slot), sizeof(struct memprof_preload_state),
                       (unsigned long long)MEMPROF_PRELOAD_MAGIC, MEMPROF_PRELOAD_SLOTS);
                printf("%zu %zu %zu %zu %zu\n", offsetof(struct memprof_preload_state, base_live),
                       offsetof(struct memprof_preload_state, peak_live), offsetof(struct memprof_preload_state, peak_time_ns),
                       offsetof(struct memprof_preload_state, untracked_samples), offsetof(struct memprof_preload_slot, freed_usable));
                return 0;
            }
            """);
        string exe = Path.Combine(dir.FullName, "layout");
        Run("cc", "-I", Path.Combine(RepoRoot.Path, "collectors", "preload"), "-o", exe, source);
        var lines = Run(exe).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        dir.Delete(recursive: true);
        Assert.Equal($"{PreloadState.HeaderSize} {PreloadState.SlotSize} {PreloadState.Size} {PreloadState.Magic} {PreloadState.Slots}", lines[0]);
        Assert.Equal("24 40 48 56 32", lines[1]);
    }

    [Fact]
    public void Totals_sum_every_slot_and_live_bytes_start_from_the_inherited_heap()
    {
        var state = new byte[PreloadState.Size];
        void Put(int offset, long value) => BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(offset), value);
        Put(0, (long)PreloadState.Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(12), PreloadState.Slots);
        Put(24, 1000);      // base_live
        Put(40, 9000);      // peak_live
        Put(48, 123456);    // peak_time_ns
        Put(56, 2);         // untracked
        // slot 0 (shared) and slot 5: allocations, bytes, allocated usable, frees, freed usable
        long[][] slots = [[3, 300, 320, 1, 100], [10, 1000, 1040, 4, 400]];
        int[] at = [0, 5];
        for (int i = 0; i < slots.Length; i++)
            for (int f = 0; f < 5; f++)
                Put(PreloadState.HeaderSize + at[i] * PreloadState.SlotSize + f * 8, slots[i][f]);

        var totals = PreloadState.Decode(state);

        Assert.Equal(new PreloadTotals(13, 1300, 5, 500, 1000 + 1360 - 500, 9000, 123456, 2), totals);
    }

    [Fact]
    public void A_state_the_library_has_not_initialized_reads_as_nothing()
    {
        Assert.Null(PreloadState.Decode(new byte[PreloadState.Size]));
        Assert.Null(PreloadState.Decode(new byte[16]));
    }

    static string Run(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
