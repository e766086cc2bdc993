namespace Profiler.Core.Recording;

public static class RecordingFormat
{
    /// <summary>Every recording starts with these bytes; the version lives in the header record.</summary>
    public static ReadOnlySpan<byte> Magic => "MEMPROF\n"u8;

    /// <summary>3: event batches are compressed (<see cref="Proto.CompressedEvents"/>), a sixth of
    /// format 2's size; 2: every record carries a CRC32C (<see cref="RecordFraming"/>). 1 and 2
    /// are still read.</summary>
    public const uint Version = 3;

    /// <summary>Brotli's quality for event batches: its lowest costs ~25 ns an event on the
    /// writer's thread and gives most of what higher ones give (bench/README.md).</summary>
    public const int CompressionQuality = 1;

    /// <summary>Brotli's window (log2 bytes): a batch's EventBatch is ~200 KB.</summary>
    public const int CompressionWindow = 18;

    public const string Extension = ".memprof";
}
