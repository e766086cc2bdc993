using Profiler.Collectors.Linux.Ring;

namespace Profiler.Tests.Collector.Ring;

/// <summary>The C# mirror of collectors/preload/memprof_ring.h agrees with what the C compiler lays out.</summary>
public sealed class RingLayoutTests
{
    [Fact]
    public void Offsets_and_constants_match_the_writer()
    {
        const string source = """
            #define _GNU_SOURCE
            #include <errno.h>
            #include <fcntl.h>
            #include <stddef.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/mman.h>
            #include <time.h>
            #include <unistd.h>
            #include "memprof_ring.h"
            int main(void)
            {
                printf("%llu %d %s %d %d %d %d\n", (unsigned long long)MEMPROF_RING_MAGIC, MEMPROF_RING_VERSION, MEMPROF_RING_ENV,
                       MEMPROF_RING_HEADER_BYTES, MEMPROF_RING_CONTROL_BYTES, MEMPROF_RING_RECORD_EVENT, MEMPROF_RING_RECORD_PAD);
                printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", offsetof(struct memprof_ring_shared, version),
                       offsetof(struct memprof_ring_shared, ring_count), offsetof(struct memprof_ring_shared, ring_bytes),
                       offsetof(struct memprof_ring_shared, data_offset), offsetof(struct memprof_ring_shared, heartbeat_ns),
                       offsetof(struct memprof_ring_shared, reader_pid), offsetof(struct memprof_ring_shared, stack_copy),
                       offsetof(struct memprof_ring_shared, waits), offsetof(struct memprof_ring_shared, dropped),
                       offsetof(struct memprof_ring_shared, no_ring), offsetof(struct memprof_ring_shared, reader_gone),
                       offsetof(struct memprof_ring_shared, unwind_in_process), offsetof(struct memprof_ring_shared, only_pid),
                       offsetof(struct memprof_ring_shared, stashed), offsetof(struct memprof_ring_shared, interrupted));
                printf("%d %d %d %d\n", MEMPROF_RING_EVENT_UNWOUND, MEMPROF_EVENT_STACK_COMPLETE, MEMPROF_RING_EVENT_STACK_DEFINE, MEMPROF_RING_EVENT_STACK_REF);
                printf("%zu %zu %zu %zu %zu %zu %zu\n", offsetof(struct memprof_ring_control, owner), offsetof(struct memprof_ring_control, write_pos),
                       offsetof(struct memprof_ring_control, unwound), offsetof(struct memprof_ring_control, copied),
                       offsetof(struct memprof_ring_control, waiting), offsetof(struct memprof_ring_control, read_pos), sizeof(struct memprof_ring_control));
                return 0;
            }
            """;
        var lines = CompileAndRun(source);
        Assert.Equal($"{RingLayout.Magic} {RingLayout.Version} {RingLayout.EnvironmentVariable} {RingLayout.HeaderBytes} {RingLayout.ControlBytes} " +
                     $"{RingLayout.RecordEvent} {RingLayout.RecordPad}", lines[0]);
        Assert.Equal(string.Join(' ', RingLayout.VersionOffset, RingLayout.RingCountOffset, RingLayout.RingBytesOffset, RingLayout.DataOffsetOffset,
            RingLayout.HeartbeatOffset, RingLayout.ReaderPidOffset, RingLayout.StackCopyOffset, RingLayout.WaitsOffset, RingLayout.DroppedOffset,
            RingLayout.NoRingOffset, RingLayout.ReaderGoneOffset, RingLayout.UnwindInProcessOffset, RingLayout.OnlyPidOffset,
            RingLayout.StashedOffset, RingLayout.InterruptedOffset), lines[1]);
        Assert.Equal($"{RingLayout.EventUnwound} {Profiler.Collectors.Linux.Bpf.BpfEventHeader.StackComplete} {RingLayout.EventStackDefine} {RingLayout.EventStackRef}", lines[2]);
        Assert.Equal($"{RingLayout.OwnerOffset} {RingLayout.WritePosOffset} {RingLayout.UnwoundOffset} {RingLayout.CopiedOffset} " +
                     $"{RingLayout.WaitingOffset} {RingLayout.ReadPosOffset} {RingLayout.ControlBytes}", lines[3]);
    }

    /// <summary>Compiles a C program against collectors/preload (with <paramref name="flags"/>) and runs it: its output lines.</summary>
    internal static string[] CompileAndRun(string source, params string[] flags)
    {
        var dir = Directory.CreateTempSubdirectory("memprof-ring-layout");
        try
        {
            var file = Path.Combine(dir.FullName, "layout.c");
            File.WriteAllText(file, source);
            string exe = Path.Combine(dir.FullName, "layout");
            ProcessRunner.RunChecked("cc", [.. flags, "-I", Path.Combine(RepoRoot.Path, "collectors", "preload"), "-o", exe, file]);
            return ProcessRunner.RunChecked(exe, []).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
