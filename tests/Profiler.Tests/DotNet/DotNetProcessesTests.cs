using Profiler.Collectors.Linux.DotNet;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.DotNet;

/// <summary>A recorded process becomes .NET when it maps the runtime; its perf map is copied into
/// the recording as it grows; an attached runtime is asked to turn the map on (and off at the end),
/// and one that cannot is named with the reason.</summary>
public sealed class DotNetProcessesTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-perfmap");

    public void Dispose() => _dir.Delete(recursive: true);

    sealed class FakeControl(string? refusal) : IPerfMapControl
    {
        public List<string> Calls { get; } = [];
        public string? Enable(int pid) { Calls.Add($"enable {pid}"); return refusal; }
        public void Disable(int pid) => Calls.Add($"disable {pid}");
    }

    string MapPath(string path) => Path.Combine(_dir.FullName, Path.GetFileName(path));

    static Module Runtime(uint pid) => new() { Pid = pid, Path = "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.0/libcoreclr.so" };

    [Fact]
    public void A_launched_runtimes_map_is_copied_as_it_grows_and_only_complete_lines_count()
    {
        var control = new FakeControl(null);
        var dotnet = new DotNetProcesses(control, launched: true, openMap: path => new PerfMapFile(MapPath(path)));
        dotnet.Mapped(new Module { Pid = 9, Path = "/usr/lib/x86_64-linux-gnu/libc.so.6" });
        Assert.Empty(dotnet.Pids);
        dotnet.Mapped(Runtime(9));
        var file = MapPath(PerfMapFile.For(9));
        File.WriteAllText(file, "0x7fb7c7c82980 a8 native uint [S] S.W::Leak()[QuickJitted]\n7fb7c7c82a50 112 uint64 [S] S.W::Ch");
        var written = new List<JitSymbols>();
        dotnet.Poll(written.Add, 100);
        File.AppendAllText(file, "urn(int32)[QuickJitted]\nnot an entry\n");
        dotnet.Poll(written.Add, 200);
        dotnet.Poll(written.Add, 300);
        dotnet.Finish(written.Add, 400);

        Assert.Equal([(100L, 0x7fb7c7c82980UL, 0xa8UL, "native uint [S] S.W::Leak()[QuickJitted]"),
                      (200L, 0x7fb7c7c82a50UL, 0x112UL, "uint64 [S] S.W::Churn(int32)[QuickJitted]")],
            written.SelectMany(r => r.Symbols.Select(s => (r.TimeNanos, s.Start, s.Size, s.Name))));
        Assert.All(written, r => Assert.Equal((9u, "perf-map"), (r.Pid, r.Source)));
        Assert.Empty(control.Calls);
        Assert.Empty(dotnet.Notes);
    }

    [Fact]
    public void An_attached_runtime_is_asked_for_its_map_and_to_stop_it_at_the_end()
    {
        var control = new FakeControl(null);
        var dotnet = new DotNetProcesses(control, launched: false, openMap: path => new PerfMapFile(MapPath(path)));
        dotnet.Mapped(Runtime(4));
        dotnet.Mapped(new Module { Pid = 4, Path = "/memfd:doublemapper (deleted)" });
        File.WriteAllText(MapPath(PerfMapFile.For(4)), "1000 10 void [S] S.W::M()[QuickJitted]\n");
        var written = new List<JitSymbols>();
        dotnet.Finish(written.Add, 1);
        Assert.Equal(["enable 4", "disable 4"], control.Calls);
        Assert.Single(written);
        Assert.False(File.Exists(MapPath(PerfMapFile.For(4))), "the map memprof asked for stays behind");
        Assert.Empty(dotnet.Notes);
    }

    [Fact]
    public void A_runtime_that_cannot_be_asked_is_named_with_the_reason()
    {
        var control = new FakeControl("its diagnostics IPC did not answer");
        var dotnet = new DotNetProcesses(control, launched: false, openMap: path => new PerfMapFile(MapPath(path)));
        dotnet.Mapped(new Module { Pid = 12, Path = "/memfd:doublemapper (deleted)" });
        dotnet.Finish(_ => Assert.Fail("no map, nothing to write"), 1);
        Assert.Equal(["enable 12"], control.Calls);
        Assert.Equal(["process 12 is a .NET program but its managed frames stay unnamed: its diagnostics IPC did not answer"], dotnet.Notes);
    }

    sealed class StackSink : Profiler.Collectors.Linux.Session.IRecordSink
    {
        public List<Stack> Stacks { get; } = [];
        public void Event(in Profiler.Core.Recording.RawEvent e) { }
        public void Stack(Stack stack) => Stacks.Add(stack);
        public void Module(Module module) { }
        public void Thread(Profiler.Core.Recording.Proto.Thread thread) { }
        public void Exec(ProcessExec exec) { }
        public void Fork(ProcessFork fork) { }
        public void Exit(ProcessExit exit) { }
        public void Counters(HeapCounters counters) { }
    }

    sealed class OneMethodNamer : IManagedCodeNamer
    {
        public List<int> Asked { get; } = [];
        public ManagedCodeNames Name(int pid, IReadOnlyCollection<ulong> returnAddresses)
        {
            Asked.Add(pid);
            return new([new JitSymbol { Start = returnAddresses.First() - 1, Size = 2, Name = "[S] S.W.M()" }], null);
        }
    }

    [Fact]
    public void An_attached_runtime_without_a_map_has_its_sampled_code_named_through_ClrMD_instead()
    {
        var namer = new OneMethodNamer();
        var maps = Profiler.Collectors.Linux.Procfs.ProcMaps.Parse("7f3000000000-7f3000100000 r-xp 00000000 00:00 0\n");
        var dotnet = new DotNetProcesses(new FakeControl("it has no diagnostics IPC socket"), launched: false,
            openMap: path => new PerfMapFile(MapPath(path)), clrMd: new ClrMdFallback(namer, _ => maps, _ => true));
        dotnet.Mapped(Runtime(12));
        var stack = new Stack { Id = 3 };
        stack.Addresses.AddRange([0x1000, 0x7f3000000040]);
        var passedOn = new StackSink();
        new DotNetWatchingSink(passedOn, dotnet).Stack(stack);
        Assert.Same(stack, Assert.Single(passedOn.Stacks));
        var written = new List<JitSymbols>();
        dotnet.Finish(written.Add, 9);
        Assert.Equal([12], namer.Asked);
        Assert.Equal((12u, "clrmd", 0x7f300000003fUL), (written.Single().Pid, written.Single().Source, written.Single().Symbols.Single().Start));
        Assert.Equal(["process 12 is a .NET program without a perf map (it has no diagnostics IPC socket): its managed frames were " +
                      "named through ClrMD (1 of 1 sampled code addresses)"], dotnet.Notes);
    }

    [Fact]
    public void Stacks_are_not_kept_for_ClrMD_before_a_runtime_is_seen()
    {
        var namer = new OneMethodNamer();
        var maps = Profiler.Collectors.Linux.Procfs.ProcMaps.Parse("7f3000000000-7f3000100000 r-xp 00000000 00:00 0\n");
        var dotnet = new DotNetProcesses(new FakeControl("it has no diagnostics IPC socket"), launched: false,
            openMap: path => new PerfMapFile(MapPath(path)), clrMd: new ClrMdFallback(namer, _ => maps, _ => true));
        var stack = new Stack { Id = 3 };
        stack.Addresses.AddRange([0x1000, 0x7f3000000040]);
        dotnet.Sampled(stack);
        dotnet.Mapped(Runtime(12));
        dotnet.Finish(_ => Assert.Fail("nothing sampled in its code"), 9);
        Assert.Empty(namer.Asked);
        Assert.Equal(["process 12 is a .NET program but its managed frames stay unnamed: it has no diagnostics IPC socket"], dotnet.Notes);
    }

    [Fact]
    public void An_attached_runtimes_map_is_completed_through_ClrMD_where_it_names_no_sampled_code()
    {
        var namer = new OneMethodNamer();
        var maps = Profiler.Collectors.Linux.Procfs.ProcMaps.Parse("7f3000000000-7f3000100000 r-xp 00000000 00:00 0\n");
        var control = new FakeControl(null);
        var dotnet = new DotNetProcesses(control, launched: false,
            openMap: path => new PerfMapFile(MapPath(path)), clrMd: new ClrMdFallback(namer, _ => maps, _ => true));
        dotnet.Mapped(Runtime(4));
        File.WriteAllText(MapPath(PerfMapFile.For(4)), "7f3000000000 40 void [S] S.W::M()[QuickJitted]\n");
        var stack = new Stack { Id = 3 };
        stack.Addresses.AddRange([0x1000, 0x7f3000000010, 0x7f3000000080]);
        dotnet.Sampled(stack);
        var written = new List<JitSymbols>();
        dotnet.Finish(written.Add, 9);
        Assert.Equal([4], namer.Asked);
        Assert.Equal([("perf-map", 0x7f3000000000UL), ("clrmd", 0x7f300000007fUL)], written.Select(r => (r.Source, r.Symbols.Single().Start)));
        Assert.Equal(["enable 4", "disable 4"], control.Calls);
        Assert.Empty(dotnet.Notes);
    }

    [Fact]
    public void The_launch_environment_turns_the_map_on_unless_the_user_chose()
    {
        var on = DotNetProcesses.LaunchEnvironment(null, _ => null);
        Assert.Equal(("1", "2", "1"), (on[DotNetProcesses.PerfMapVariable], on[DotNetProcesses.StubGranularityVariable], on[DotNetProcesses.ShowTiersVariable]));
        var preload = DotNetProcesses.LaunchEnvironment(new Dictionary<string, string> { ["LD_PRELOAD"] = "x.so" }, _ => "");
        Assert.Equal(("x.so", "1"), (preload["LD_PRELOAD"], preload[DotNetProcesses.PerfMapVariable]));
        // The user's own choices stand: their map, and their stub and tier settings.
        Assert.Empty(DotNetProcesses.LaunchEnvironment(null, v => v == DotNetProcesses.PerfMapVariable ? "0" : null));
        var userStubs = DotNetProcesses.LaunchEnvironment(null, v => v == DotNetProcesses.StubGranularityVariable ? "1" : null);
        Assert.False(userStubs.ContainsKey(DotNetProcesses.StubGranularityVariable));
        Assert.Equal("1", userStubs[DotNetProcesses.PerfMapVariable]);
    }

    sealed class FakeGcHeap : IGcHeapSource
    {
        public List<int> Starts { get; } = [];
        public int Stops { get; private set; }
        public Action<long>? Sample { get; private set; }
        public bool Refuse { get; set; } = true;

        public void Start(int pid, Action<long> sample, Action<string> failed)
        {
            Starts.Add(pid);
            if (Refuse) failed("not listening yet");
            else Sample = sample;
        }

        public void StopAll() => Stops++;
    }

    [Fact]
    public void A_runtimes_GC_heap_is_followed_once_it_listens_and_its_samples_are_written_with_their_time()
    {
        var gcHeap = new FakeGcHeap();
        long now = 0;
        var dotnet = new DotNetProcesses(new FakeControl(null), launched: true, openMap: path => new PerfMapFile(MapPath(path)),
            gcHeap: gcHeap, clock: () => now);
        dotnet.Mapped(Runtime(3));
        var written = new List<ManagedHeap>();
        dotnet.PollManagedHeap(written.Add);
        gcHeap.Refuse = false;
        dotnet.PollManagedHeap(written.Add);
        dotnet.PollManagedHeap(written.Add);
        Assert.Equal([3, 3], gcHeap.Starts);
        (now, _) = (1_000, 0);
        gcHeap.Sample!(20_000_000);
        now = 2_000;
        gcHeap.Sample(21_000_000);
        dotnet.FinishManagedHeap(written.Add);
        Assert.Equal(1, gcHeap.Stops);
        Assert.Equal([(3u, 1_000L, 20_000_000UL), (3u, 2_000L, 21_000_000UL)], written.Select(h => (h.Pid, h.TimeNanos, h.GcHeapBytes)));
    }
}
