using Microsoft.Diagnostics.Runtime;
using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>What a live .NET process's runtime says of code addresses: the methods found (perf map
/// entries' form), or why it could not be asked.</summary>
public sealed record ManagedCodeNames(IReadOnlyList<JitSymbol> Symbols, string? Failure)
{
    public static ManagedCodeNames Failed(string why) => new([], why);
}

/// <summary>Names the JIT-compiled code of a live .NET process from its runtime's own data.</summary>
public interface IManagedCodeNamer
{
    /// <param name="returnAddresses">Return addresses in the process's JIT code (each names the call before it).</param>
    ManagedCodeNames Name(int pid, IReadOnlyCollection<ulong> returnAddresses);
}

/// <summary>Through ClrMD and the runtime's DAC (libmscordaccore.so, shipped beside libcoreclr.so):
/// the process's threads are held still (PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP, so a
/// memprof killed meanwhile leaves them running) for a bounded time while ClrMD reads its memory
/// (process_vm_readv; ClrMD itself never traces it).</summary>
public sealed class ClrMdCodeNamer : IManagedCodeNamer
{
    /// <summary>Time for every thread to stop.</summary>
    static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1);
    /// <summary>Time ClrMD gets while the threads are stopped; past it they run on, unnamed.</summary>
    static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(5);

    public const string DacName = "libmscordaccore.so";

    public ManagedCodeNames Name(int pid, IReadOnlyCollection<ulong> returnAddresses)
    {
        var runtime = ProcMaps.Read(pid).FirstOrDefault(m => m.Path.EndsWith("/libcoreclr.so", StringComparison.Ordinal));
        if (runtime is null) return ManagedCodeNames.Failed("ClrMD found no libcoreclr.so mapped in it");
        string dac = Path.Combine(Path.GetDirectoryName(runtime.Path)!, DacName);
        if (!File.Exists(dac)) return ManagedCodeNames.Failed($"ClrMD needs the runtime's DAC, {dac}, which is not there");
        try
        {
            var (names, failure) = new ThreadFreezer().Frozen(pid, () => ReadBounded(pid, dac, returnAddresses), StopBound);
            return names ?? ManagedCodeNames.Failed($"ClrMD could not hold it still: {failure}");
        }
        catch (InvalidOperationException e)
        {
            return ManagedCodeNames.Failed($"ClrMD could not hold it still: {e.InnerException?.Message ?? e.Message}");
        }
    }

    static ManagedCodeNames ReadBounded(int pid, string dac, IReadOnlyCollection<ulong> returnAddresses)
    {
        var read = Task.Run(() => Read(pid, dac, returnAddresses));
        try
        {
            // Past the bound the threads are let go; ClrMD may read on, but its answer is dropped.
            return read.Wait(ReadBound) ? read.Result : ManagedCodeNames.Failed($"ClrMD did not finish within {ReadBound.TotalSeconds:0} s");
        }
        catch (AggregateException wrapped) when (wrapped.InnerException is { } e)
        {
            return ManagedCodeNames.Failed($"ClrMD could not read its runtime ({e.Message.TrimEnd('.')})");
        }
    }

    static ManagedCodeNames Read(int pid, string dac, IReadOnlyCollection<ulong> returnAddresses)
    {
        // Passive: the threads are already stopped by the caller, and ClrMD's own suspension
        // (PTRACE_ATTACH, a SIGSTOP) would leave them stopped should memprof die.
        using var target = DataTarget.AttachToProcess(pid, suspend: false);
        if (target.ClrVersions.IsEmpty) return ManagedCodeNames.Failed("ClrMD found no .NET runtime in it");
        // The DAC beside the runtime is the one built with it (ClrMD cannot read .NET 10's version
        // from memory, so it would call every DAC a mismatch).
        using var runtime = target.ClrVersions[0].CreateRuntime(dac, ignoreMismatch: true);
        var symbols = new Dictionary<ulong, JitSymbol>();
        foreach (ulong address in returnAddresses)
        {
            ulong call = address - 1;
            if (runtime.GetMethodByInstructionPointer(call) is not { Signature: { } signature } method) continue;
            var (start, size) = CodeRange(method.HotColdInfo, call);
            symbols.TryAdd(start, new JitSymbol
            {
                Start = start, Size = size, Name = ClrMdName.PerfMapEntry(signature, method.Type?.Module?.AssemblyName ?? ""),
            });
        }
        return new ManagedCodeNames([.. symbols.Values.OrderBy(s => s.Start)], null);
    }

    /// <summary>The method's code around <paramref name="call"/>: its hot or cold part, or (code of
    /// an earlier tier, which the runtime no longer describes) just the call and its return address.</summary>
    static (ulong Start, ulong Size) CodeRange(HotColdRegions code, ulong call)
    {
        if (code.HotStart <= call && call < code.HotStart + code.HotSize) return (code.HotStart, code.HotSize);
        if (code.ColdStart <= call && call < code.ColdStart + code.ColdSize) return (code.ColdStart, code.ColdSize);
        return (call, 2);
    }
}
