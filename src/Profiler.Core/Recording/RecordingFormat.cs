namespace Profiler.Core.Recording;

public static class RecordingFormat
{
    /// <summary>Every recording starts with these bytes; the version lives in the header record.</summary>
    public static ReadOnlySpan<byte> Magic => "MEMPROF\n"u8;

    /// <summary>4: stacks are compressed in batches (<see cref="Proto.CompressedStacks"/>), which a
    /// format-3 reader would skip, reading every event without its stack; 3: event batches are
    /// compressed (<see cref="Proto.CompressedEvents"/>), a sixth of format 2's size; 2: every
    /// record carries a CRC32C (<see cref="RecordFraming"/>). 1 to 3 are still read.</summary>
    public const uint Version = 4;

    /// <summary>Brotli's quality for event and stack batches: its lowest costs ~25 ns an event on the
    /// writer's thread and gives most of what higher ones give (bench/README.md).</summary>
    public const int CompressionQuality = 1;

    /// <summary>Brotli's window (log2 bytes): a batch's EventBatch is ~200 KB, a StackBatch mostly less.</summary>
    public const int CompressionWindow = 18;

    public const string Extension = ".memprof";
}
