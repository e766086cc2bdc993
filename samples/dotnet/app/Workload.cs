using System.Runtime.CompilerServices;

namespace DotnetSample;

/// <summary>One run of the sample: each native call comes from its own C# method (never inlined,
/// so each is a frame of its own), and a managed cache of a known size stays reachable.</summary>
public static class Workload
{
    public const int LeakCount = 3;
    public const int LeakSize = 1_000_000;
    public const int ChurnRounds = 1_000;
    public const int ChurnSize = 4_096;
    public const int PeakCount = 64;
    public const int PeakSize = 65_536;
    public const int ManagedArrays = 200;
    public const int ManagedArraySize = 100_000;

    /// <summary>Kept reachable so the GC heap holds it until the process ends.</summary>
    static readonly List<byte[]> ManagedCache = [];

    public static void Run(TextWriter output)
    {
        output.WriteLine($"gc-total-memory before {GC.GetTotalMemory(forceFullCollection: true)}");
        NativeWork.LeakThroughRust();
        NativeWork.ChurnThroughRust(ChurnRounds);
        NativeWork.PeakThroughRust();
        FillManagedCache();
        output.WriteLine($"gc-total-memory after {GC.GetTotalMemory(forceFullCollection: true)}");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void FillManagedCache()
    {
        for (int i = 0; i < ManagedArrays; i++)
        {
            var array = new byte[ManagedArraySize];
            Array.Fill(array, (byte)i);
            ManagedCache.Add(array);
        }
    }
}

/// <summary>The C# callers of the Rust library: the names a profile must show above each native site.</summary>
public static class NativeWork
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static nuint LeakThroughRust() => RustLib.Leak(Workload.LeakCount, Workload.LeakSize);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong ChurnThroughRust(int rounds)
    {
        ulong checksum = 0;
        for (int i = 0; i < rounds; i++)
            checksum += RustLib.Churn(Workload.ChurnSize);
        return checksum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong PeakThroughRust() => RustLib.Peak(Workload.PeakCount, Workload.PeakSize);
}
