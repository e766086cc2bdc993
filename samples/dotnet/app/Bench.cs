using System.Diagnostics;

namespace DotnetSample;

/// <summary>The sample's allocation loop alone, timed: what a profiler adds to each native
/// allocation made from C# (the P/Invoke, Rust's malloc and free of one block).</summary>
public static class Bench
{
    public static void Run(long calls, TextWriter output)
    {
        // Warm: the loop is jitted (and tiered up) before it is timed.
        NativeWork.ChurnThroughRust((int)Math.Min(calls, 10_000));
        var clock = Stopwatch.StartNew();
        ulong checksum = 0;
        for (long done = 0; done < calls; done += int.MaxValue)
            checksum += NativeWork.ChurnThroughRust((int)Math.Min(int.MaxValue, calls - done));
        double seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"calls {calls}");
        output.WriteLine($"checksum {checksum}");
        output.WriteLine(FormattableString.Invariant($"elapsed_s {seconds:F4}"));
        output.WriteLine(FormattableString.Invariant($"ns_per_call {seconds * 1e9 / calls:F1}"));
    }
}
