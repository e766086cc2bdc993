using Profiler.Collectors.Linux.DotNet;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.DotNet;

/// <summary>An attached .NET process that gives no perf map has the sampled return addresses in its
/// JIT code (anonymous executable mappings, the double-mapped region) named through ClrMD at the
/// end, while it lives; the names are stored as a perf map's would be, and the user is told in one
/// line what happened and why.</summary>
public sealed class ClrMdFallbackTests
{
    sealed class FakeNamer(Func<IReadOnlyCollection<ulong>, ManagedCodeNames> answer) : IManagedCodeNamer
    {
        public List<(int Pid, ulong[] Addresses)> Calls { get; } = [];
        public ManagedCodeNames Name(int pid, IReadOnlyCollection<ulong> returnAddresses)
        {
            Calls.Add((pid, [.. returnAddresses]));
            return answer(returnAddresses);
        }
    }

    /// <summary>libc, an anonymous executable region, a read-only anonymous one, the double-mapped
    /// region's writable and executable views, and an assembly's headers and ReadyToRun code.</summary>
    static readonly IReadOnlyList<MapEntry> Maps = ProcMaps.Parse("""
        7f0000000000-7f0000100000 r-xp 00000000 fe:00 11 /usr/lib/x86_64-linux-gnu/libc.so.6
        7f1000000000-7f1000010000 r-xp 00000000 00:00 0
        7f1000010000-7f1000020000 rw-p 00000000 00:00 0
        7f2000000000-7f2000100000 rw-s 00000000 00:01 5 /memfd:doublemapper (deleted)
        7f3000000000-7f3000100000 r-xs 00100000 00:01 5 /memfd:doublemapper (deleted)
        7f4000000000-7f4000010000 r--p 00000000 fe:00 12 /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll
        7f4000010000-7f4000200000 r-xp 00010000 fe:00 12 /usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll
        """);

    static Stack StackOf(params ulong[] addresses)
    {
        var stack = new Stack { Id = 1 };
        stack.Addresses.AddRange(addresses);
        return stack;
    }

    [Fact]
    public void Only_return_addresses_in_JIT_code_are_asked_about_and_the_answer_is_stored_as_a_perf_map()
    {
        var namer = new FakeNamer(_ => new ManagedCodeNames(
            [new JitSymbol { Start = 0x7f3000000100, Size = 0x80, Name = "[DotnetSample] DotnetSample.NativeWork.LeakThroughRust()" }], null));
        var fallback = new ClrMdFallback(namer, _ => Maps, _ => true);
        // Leaf first: the leaf (the allocator) is never JIT code, whatever region it lies in.
        fallback.Sampled(StackOf(0x7f1000000005, 0x7f0000000010, 0x7f3000000120, 0x7f1000000040, 0x7f1000010040, 0x7f2000000040));
        fallback.Sampled(StackOf(0x7f0000000020, 0x7f3000000120, 0x7f3000000800, 0x7f1000010000 + 0x10000 + 1, 0x7f4000000100, 0x7f4000010100));

        var (record, note) = fallback.Name(42, "it has no diagnostics IPC socket", 7);

        var call = Assert.Single(namer.Calls);
        Assert.Equal(42, call.Pid);
        Assert.Equal([0x7f1000000040, 0x7f3000000120, 0x7f3000000800, 0x7f4000010100], call.Addresses);
        Assert.NotNull(record);
        Assert.Equal((42u, 7L, ClrMdFallback.Source), (record.Pid, record.TimeNanos, record.Source));
        var map = JitCodeMap.From([record]);
        Assert.True(map.TryFind(42, 0x7f3000000120 - 1, out var leak, out _));
        Assert.Equal(("DotnetSample.NativeWork.LeakThroughRust()", "DotnetSample"), (leak.Function, leak.Assembly));
        Assert.Equal("process 42 is a .NET program without a perf map (it has no diagnostics IPC socket): its managed frames were " +
                     "named through ClrMD (1 of 4 sampled code addresses)", note);
    }

    [Fact]
    public void A_process_gone_by_the_end_is_not_asked_and_the_user_is_told_why()
    {
        var namer = new FakeNamer(_ => throw new InvalidOperationException("not to be asked"));
        var fallback = new ClrMdFallback(namer, _ => Maps, _ => false);
        fallback.Sampled(StackOf(1, 0x7f3000000120));
        var (record, note) = fallback.Name(5, "its diagnostics IPC did not answer in time", 1);
        Assert.Null(record);
        Assert.Empty(namer.Calls);
        Assert.Equal("process 5 is a .NET program but its managed frames stay unnamed: its diagnostics IPC did not answer in time; " +
                     "it ended before ClrMD could name them", note);
    }

    [Fact]
    public void Without_sampled_JIT_code_ClrMD_is_not_asked()
    {
        var namer = new FakeNamer(_ => throw new InvalidOperationException("not to be asked"));
        var fallback = new ClrMdFallback(namer, _ => Maps, _ => true);
        fallback.Sampled(StackOf(0x7f3000000120, 0x7f0000000010));
        var (record, note) = fallback.Name(5, "why", 1);
        Assert.Null(record);
        Assert.Empty(namer.Calls);
        Assert.Equal("process 5 is a .NET program but its managed frames stay unnamed: why", note);
    }

    [Fact]
    public void When_ClrMD_cannot_the_line_says_why()
    {
        var fallback = new ClrMdFallback(new FakeNamer(_ => ManagedCodeNames.Failed("ClrMD needs the runtime's DAC, /r/libmscordaccore.so, which is not there")),
            _ => Maps, _ => true);
        fallback.Sampled(StackOf(1, 0x7f1000000040));
        var (record, note) = fallback.Name(8, "it has no diagnostics IPC socket", 1);
        Assert.Null(record);
        Assert.Equal("process 8 is a .NET program but its managed frames stay unnamed: it has no diagnostics IPC socket; " +
                     "ClrMD needs the runtime's DAC, /r/libmscordaccore.so, which is not there", note);
    }

    [Fact]
    public void With_a_perf_map_only_what_it_leaves_out_is_asked_about_and_success_goes_unsaid()
    {
        var namer = new FakeNamer(addresses => new ManagedCodeNames(
            [new JitSymbol { Start = addresses.Single() - 1, Size = 2, Name = "[System.Private.CoreLib] System.Guid.NewGuid()" }], null));
        var fallback = new ClrMdFallback(namer, _ => Maps, _ => true);
        // JIT code the perf map names, and ReadyToRun code it does not (run before it was turned on).
        fallback.Sampled(StackOf(1, 0x7f3000000120, 0x7f4000010100));
        var (record, note) = fallback.NameRest(42, call => call == 0x7f3000000120 - 1, 3);
        Assert.Equal([0x7f4000010100UL], Assert.Single(namer.Calls).Addresses);
        Assert.Null(note);
        Assert.NotNull(record);
        Assert.True(JitCodeMap.From([record]).TryFind(42, 0x7f4000010100 - 1, out var guid, out _));
        Assert.Equal(("System.Guid.NewGuid()", "System.Private.CoreLib"), (guid.Function, guid.Assembly));
    }

    [Fact]
    public void With_a_perf_map_ClrMD_is_not_asked_when_it_names_everything_and_a_failure_is_said()
    {
        var asked = new FakeNamer(_ => ManagedCodeNames.Failed("ClrMD could not hold it still: ptrace refused to stop thread 9: Operation not permitted"));
        var fallback = new ClrMdFallback(asked, _ => Maps, _ => true);
        fallback.Sampled(StackOf(1, 0x7f3000000120, 0x7f4000010100));
        Assert.Equal((null, null), fallback.NameRest(42, _ => true, 3));
        Assert.Empty(asked.Calls);
        var (record, note) = fallback.NameRest(42, call => call == 0x7f3000000120 - 1, 3);
        Assert.Null(record);
        Assert.Equal("process 42: 1 sampled managed code addresses its perf map does not name stay unnamed: " +
                     "ClrMD could not hold it still: ptrace refused to stop thread 9: Operation not permitted", note);
        Assert.Equal((null, null), new ClrMdFallback(asked, _ => Maps, _ => false).NameRest(42, _ => false, 3));
    }
}
