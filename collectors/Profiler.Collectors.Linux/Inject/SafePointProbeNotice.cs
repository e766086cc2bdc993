using System.Text.Json;
using System.Text.Json.Serialization;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>What a loader process is about to probe, told to memprof before the probe exists.
/// A process SIGKILLed while its thread registers or releases a uprobe leaves the uprobe's
/// breakpoints in the target: the kernel's page walk gives up on the fatal signal, and the kernel
/// then keeps the uprobe ("failed to unregister, leaking uprobe") with no consumer, so every later
/// call of that allocator entry traps for nothing, for the target's whole life. memprof, which
/// outlives its loader, takes such breakpoints out after a loader that gave no result: it
/// registers the same probe and releases it from a thread nobody is killing, and the release
/// removes the breakpoints wherever no other probe still wants them.</summary>
public sealed record SafePointProbeNotice(int Pid, string Path, ulong[] Offsets)
{
    /// <summary>Starts the notice's line; a result line is JSON and never starts so.</summary>
    public const string Prefix = "probe ";

    public string Encode() => Prefix + JsonSerializer.Serialize(this, SafePointProbeNoticeJson.Default.SafePointProbeNotice);

    public static SafePointProbeNotice? Decode(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        try { return JsonSerializer.Deserialize(line.AsSpan(Prefix.Length), SafePointProbeNoticeJson.Default.SafePointProbeNotice); }
        catch (JsonException) { return null; }
    }

    /// <summary>A factory that writes (and flushes) each probe's notice before it makes the probe:
    /// a loader killed during the registration has told memprof already.</summary>
    public static SafePointProbeFactory Announcing(TextWriter output, SafePointProbeFactory probes) => (pid, path, offsets) =>
    {
        try
        {
            output.WriteLine(new SafePointProbeNotice(pid, path, offsets.ToArray()).Encode());
            output.Flush();
        }
        catch (IOException) { /* memprof is gone: nobody to tell, and nobody left to clean up after */ }
        return probes(pid, path, offsets);
    };

    /// <summary>Registers this probe again and releases it, which takes out any breakpoint a killed
    /// loader's probe left behind. Null when done, else why not (the target gone, for one).</summary>
    public string? TakeOut(SafePointProbeFactory probes)
    {
        var (probe, refused) = probes(Pid, Path, Offsets);
        if (probe is null) return refused;
        probe.Dispose();
        return null;
    }
}

[JsonSerializable(typeof(SafePointProbeNotice))]
internal sealed partial class SafePointProbeNoticeJson : JsonSerializerContext;
